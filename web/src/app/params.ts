// The form's values and how they become a request. Values stay strings while typed: the page does not second-guess
// the api's limits (they live in its pydantic model, DESIGN.md principle 2); it shows the api's message instead.
import type { GenerateRequest, GenerationInfo } from "./api";

export interface SizePreset {
  width: number;
  height: number;
  group: "sdxl" | "small";
}

// SDXL base was trained on these ~1 megapixel buckets; the small ones are what the demo model runs in a blink.
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

export const LIMITS = {
  sizeMin: 64,
  sizeMax: 2048,
  sizeStep: 8,
  stepsMin: 1,
  stepsMax: 150,
  guidanceMin: 0,
  guidanceMax: 30,
  seedMax: Number.MAX_SAFE_INTEGER,
} as const;

export type SeedMode = "random" | "fixed";

export interface FormValues {
  positivePrompt: string;
  negativePrompt: string;
  width: string;
  height: string;
  steps: string;
  guidanceScale: string;
  seedMode: SeedMode;
  seed: string;
}

// SDXL base's defaults, as the original; replaced by the worker's own from GET /ready until the person edits them.
export const INITIAL_VALUES: FormValues = {
  positivePrompt: "",
  negativePrompt: "",
  width: "1024",
  height: "1024",
  steps: "30",
  guidanceScale: "7",
  seedMode: "random",
  seed: "",
};

export function presetKey(width: number | string, height: number | string): string {
  return `${width}x${height}`;
}

export function ratioLabel(width: number, height: number): string {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const d = gcd(width, height);
  return `${width / d}:${height / d}`;
}

/** A blank field is left out (the worker's default); anything else is sent as the number typed, for the api to judge. */
function numberField(raw: string): number | undefined {
  const text = raw.trim();
  if (text === "") return undefined;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

export function toRequest(values: FormValues): GenerateRequest {
  const request: GenerateRequest = { positivePrompt: values.positivePrompt };
  if (values.negativePrompt.trim() !== "") request.negativePrompt = values.negativePrompt;
  const fields = {
    width: numberField(values.width),
    height: numberField(values.height),
    steps: numberField(values.steps),
    guidanceScale: numberField(values.guidanceScale),
    seed: values.seedMode === "fixed" ? numberField(values.seed) : undefined,
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) (request as unknown as Record<string, number>)[key] = value;
  }
  return request;
}

/** The preview's width/height ratio: the typed size when it makes sense, else the fallback, kept within 1:8..8:1. */
export function previewRatio(values: Pick<FormValues, "width" | "height">, fallback = 1): number {
  const width = Number(values.width);
  const height = Number(values.height);
  const ratio = width > 0 && height > 0 && Number.isFinite(width / height) ? width / height : fallback;
  return Math.min(8, Math.max(1 / 8, ratio));
}

export function randomSeed(): number {
  // 2^32 keeps the number short enough to read aloud; any value up to 2^53-1 is valid.
  return Math.floor(Math.random() * 2 ** 32);
}

/** One image made since the page opened: its blob: URL lives exactly as long as this entry (see image-generator.tsx). */
export interface GeneratedImage {
  id: number;
  url: string;
  sizeBytes: number;
  values: FormValues;
  info: GenerationInfo;
  elapsedMs: number;
}

export function downloadName(image: GeneratedImage): string {
  const seed = image.info.seed ?? image.values.seed ?? "unknown";
  const width = image.info.width ?? image.values.width;
  const height = image.info.height ?? image.values.height;
  return `img-generator-seed-${seed}-${width}x${height}.png`;
}
