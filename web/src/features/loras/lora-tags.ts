// A1111's `<lora:name:weight>` prompt tags, read as the worker reads them (worker/lora_tags.py, after A1111's
// extra_networks.parse_prompt): `<kind:arguments>` with kind `lora` (or its alias `lyco`), arguments split on `:`,
// one holding `=` a named argument; the first positional is the name, the second (or `te=`) the weight, 1 when
// absent. A tag the worker would refuse (no name, a weight that is not a number, `dyn=`, a separate UNet weight) is
// not a LoRA the prompt applies: it is left out here, and the worker's answer says what is wrong with it.
// Pure: no DOM, no React.

/** One LoRA tag of a prompt. */
export interface LoraTag {
  name: string;
  weight: number;
  /** The tag as typed, `<lora:name:0.8>`. */
  text: string;
  /** Where it starts in the prompt. */
  index: number;
}

export const DEFAULT_TAG_WEIGHT = 1;

const EXTRA_NETWORK = /<(\w+):([^>]+)>/g;
const LORA_KINDS = new Set(["lora", "lyco"]);
// Python's float() as the worker parses a weight: optional sign, digits with an optional fraction, an exponent,
// blanks around; "inf" and "nan" are numbers there but never a weight the api takes, so they do not count here.
const FLOAT = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function number(text: string): number | null {
  return FLOAT.test(text) ? Number(text) : null;
}

/** A tag's arguments as (name, weight), or null for one the worker would refuse. */
function parseArguments(argumentsText: string): { name: string; weight: number } | null {
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const item of argumentsText.split(":")) {
    const parts = item.split("=");
    // Python's split("=", 2) gives 2 parts only for exactly one "="; more is a positional, as there.
    if (parts.length === 2) named.set(parts[0], parts[1]);
    else positional.push(item);
  }
  const name = positional[0];
  if (!name || named.has("dyn") || positional.length > 3) return null;
  let weight: number | null = DEFAULT_TAG_WEIGHT;
  if (positional.length > 1) weight = number(positional[1]);
  if (named.has("te")) weight = number(named.get("te") as string);
  if (weight === null) return null;
  const unetText = named.get("unet") ?? positional[2];
  if (unetText !== undefined && number(unetText) !== weight) return null;
  return { name, weight };
}

/** The prompt's LoRA tags in the order written (repeats kept); other extra networks and malformed tags left out. */
export function parseLoraTags(prompt: string): LoraTag[] {
  const tags: LoraTag[] = [];
  for (const match of prompt.matchAll(EXTRA_NETWORK)) {
    if (!LORA_KINDS.has(match[1])) continue;
    const parsed = parseArguments(match[2]);
    if (parsed) tags.push({ ...parsed, text: match[0], index: match.index ?? 0 });
  }
  return tags;
}
