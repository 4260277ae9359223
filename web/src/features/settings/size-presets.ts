// The Size menu's choices: SDXL base was trained on these ~1 megapixel buckets; the small ones are what the demo
// model runs in a blink. Suggestions only: the api's limits (web/openapi.json) decide what is valid.
export interface SizePreset {
  width: number;
  height: number;
  group: "sdxl" | "small";
}

export const SIZE_PRESETS: readonly SizePreset[] = [
  { width: 1024, height: 1024, group: "sdxl" },
  { width: 1152, height: 896, group: "sdxl" },
  { width: 896, height: 1152, group: "sdxl" },
  { width: 1216, height: 832, group: "sdxl" },
  { width: 832, height: 1216, group: "sdxl" },
  { width: 1344, height: 768, group: "sdxl" },
  { width: 768, height: 1344, group: "sdxl" },
  { width: 1536, height: 640, group: "sdxl" },
  { width: 640, height: 1536, group: "sdxl" },
  { width: 768, height: 768, group: "small" },
  { width: 512, height: 512, group: "small" },
  { width: 256, height: 256, group: "small" },
  { width: 128, height: 128, group: "small" },
];

export function presetKey(width: number | string, height: number | string): string {
  return `${width}x${height}`;
}

export function ratioLabel(width: number, height: number): string {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const d = gcd(width, height);
  return `${width / d}:${height / d}`;
}
