// AUTOMATIC1111's "infotext": an image's generation parameters as the text A1111 (and the worker,
// worker/infotext.py) writes inside the file. Read as A1111's parse_generation_parameters reads it:
//
//     <prompt, any number of lines>
//     Negative prompt: <negative prompt, to the last line>      (only when there is one)
//     Steps: 30, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 1024x1024, Model: "a, b", ...   (the last line)
//
// A value holding `,` `:` or a newline is a JSON string. Pure: no DOM, no React.

/** One infotext: the prompts and the last line's parameters, in their order, values unquoted. */
export interface Infotext {
  prompt: string;
  /** "" when the text has no "Negative prompt:" line. */
  negativePrompt: string;
  params: [key: string, value: string][];
}

const NEGATIVE = "Negative prompt:";
// A1111's re_param: a key (a word, then words, spaces, - or /), a colon, and a JSON string or anything up to a comma.
const PARAM = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;
// Fewer parameters than this on the last line: it is part of the prompt (A1111's rule).
const MIN_PARAMS = 3;

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value.trim();
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === "string" ? parsed : value;
  } catch {
    return value;
  }
}

function parseParams(line: string): [string, string][] {
  return Array.from(line.matchAll(PARAM), (match): [string, string] => [match[1], unquote(match[2])]);
}

/** Reads an infotext. Lines are trimmed, as A1111 trims them; a text without a parameters line is all prompt. */
export function parseInfotext(text: string): Infotext {
  const lines = text.trim().split(/\r?\n/);
  const last = lines.pop() ?? "";
  let params = parseParams(last);
  if (params.length < MIN_PARAMS) {
    lines.push(last);
    params = [];
  }
  let prompt = "";
  let negativePrompt = "";
  let inNegative = false;
  for (const raw of lines) {
    let line = raw.trim();
    if (line.startsWith(NEGATIVE)) {
      inNegative = true;
      line = line.slice(NEGATIVE.length).trim();
    }
    // As A1111 joins them: a blank line before any text is dropped.
    if (inNegative) negativePrompt += (negativePrompt === "" ? "" : "\n") + line;
    else prompt += (prompt === "" ? "" : "\n") + line;
  }
  return { prompt, negativePrompt, params };
}

/** A1111's quote: a value holding `,` `:` or a newline as a JSON string, else as it is. */
function quote(value: string): string {
  return /[,:\n]/.test(value) ? JSON.stringify(value) : value;
}

/** Writes an infotext as A1111 does; formatInfotext(parseInfotext(text)) gives back what A1111 or the worker wrote. */
export function formatInfotext({ prompt, negativePrompt, params }: Infotext): string {
  const line = params.map(([key, value]) => `${key}: ${quote(value)}`).join(", ");
  const negative = negativePrompt ? `\n${NEGATIVE} ${negativePrompt}` : "";
  return `${prompt}${negative}\n${line}`.trim();
}

/** A parameter's value (the last one, when a key repeats, as A1111's dict keeps it), or null. */
export function param(info: Infotext, key: string): string | null {
  for (let i = info.params.length - 1; i >= 0; i--) if (info.params[i][0] === key) return info.params[i][1];
  return null;
}

/** "72x64" as width and height, or null. */
export function parseSize(value: string | null): { width: number; height: number } | null {
  const match = value?.match(/^(\d+)x(\d+)$/);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : null;
}

/**
 * The same infotext with another seed on its parameters line, the rest byte for byte as it was: what the file of
 * the request's image with that seed holds (each image of a request for several is written with its own seed).
 */
export function withSeed(text: string, seed: number): string {
  const cut = text.lastIndexOf("\n");
  const head = text.slice(0, cut + 1);
  return head + text.slice(cut + 1).replace(/(^|, )Seed: -?\d+(?=,|$)/, `$1Seed: ${seed}`);
}
