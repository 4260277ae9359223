// The form's values and how they become a request. Values stay strings while typed: the page does not second-guess
// the api's limits (they come from genproto.limits through the OpenAPI schema); it shows the api's message instead.
import { LIMITS } from "@/api/limits";
import type { GenerationInfo } from "@/api/stream-events";
import type { GenerateRequest, ModelDefaults } from "@/api/types";

export type SeedMode = "random" | "fixed";

/** A LoRA of the picker: a name of GET /loras and its weight as typed ("" is the api's default, 1). */
export interface LoraEntry {
  name: string;
  weight: string;
}

export interface FormValues {
  positivePrompt: string;
  negativePrompt: string;
  width: string;
  height: string;
  steps: string;
  guidanceScale: string;
  seedMode: SeedMode;
  seed: string;
  /** A sampler's A1111 name; "" is the model's own (GET /ready's defaults.sampler), which sends none. */
  sampler: string;
  /** One of the sampler's schedule types (GET /samplers); Automatic, the sampler's own choice, sends none. */
  scheduleType: string;
  /** How many images, with seeds seed, seed+1, ...; 1 sends none. */
  count: string;
  /** A model's name of GET /models; "" is the library's default, which sends none. */
  model: string;
  /** The LoRA picker's; the prompt's `<lora:…>` tags are the prompt's and go with it. None sends none. */
  loras: LoraEntry[];
}

export const AUTOMATIC_SCHEDULE = "Automatic";

/** Before GET /ready has told the worker's defaults the number fields are blank: blank means "the worker's default". */
export const EMPTY_VALUES: FormValues = {
  positivePrompt: "",
  negativePrompt: LIMITS.negativePrompt.default,
  width: "",
  height: "",
  steps: "",
  guidanceScale: "",
  seedMode: "random",
  seed: "",
  sampler: "",
  scheduleType: AUTOMATIC_SCHEDULE,
  count: "1",
  model: "",
  loras: [],
};

export function defaultsToValues(defaults: ModelDefaults | undefined): Partial<FormValues> {
  if (!defaults) return {};
  return {
    width: String(defaults.width),
    height: String(defaults.height),
    steps: String(defaults.steps),
    guidanceScale: String(defaults.guidanceScale),
  };
}

/** A blank field is left out (the worker's default); anything else is sent as the number typed, for the api to judge. */
function numberField(raw: string): number | undefined {
  const text = raw.trim();
  if (text === "") return undefined;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** A picker's LoRA as the request's: a blank weight is left to the api (1). */
function loraWeight({ name, weight }: LoraEntry): NonNullable<GenerateRequest["loras"]>[number] {
  const value = numberField(weight);
  return value === undefined ? { name } : { name, weight: value };
}

export function toRequest(values: FormValues): GenerateRequest {
  const request: GenerateRequest = { positivePrompt: values.positivePrompt };
  if (values.negativePrompt.trim() !== "") request.negativePrompt = values.negativePrompt;
  const width = numberField(values.width);
  const height = numberField(values.height);
  const steps = numberField(values.steps);
  const guidanceScale = numberField(values.guidanceScale);
  const seed = values.seedMode === "fixed" ? numberField(values.seed) : undefined;
  if (width !== undefined) request.width = width;
  if (height !== undefined) request.height = height;
  if (steps !== undefined) request.steps = steps;
  if (guidanceScale !== undefined) request.guidanceScale = guidanceScale;
  if (seed !== undefined) request.seed = seed;
  // The api knows the names (GET /samplers) and which schedules a sampler takes; it says so if one does not fit.
  if (values.sampler.trim() !== "") request.sampler = values.sampler.trim() as GenerateRequest["sampler"];
  const schedule = values.scheduleType.trim();
  if (schedule !== "" && schedule !== AUTOMATIC_SCHEDULE) request.scheduleType = schedule as GenerateRequest["scheduleType"];
  const count = numberField(values.count);
  if (count !== undefined && count !== 1) request.count = count;
  if (values.model.trim() !== "") request.model = values.model.trim();
  if (values.loras.length > 0) request.loras = values.loras.map(loraWeight);
  return request;
}

/**
 * The values an earlier image was made with, its seed fixed and one image, so Generate makes the same picture
 * again (an image of a request for several has its own seed: seed+1, ...). Its model is the one that ran, ""
 * when that is `defaultModel` (the library's default now); its LoRAs the picker's as sent (the prompt keeps its tags).
 */
export function valuesOf(values: FormValues, info: GenerationInfo, defaultModel?: string): FormValues {
  const model = info.model ?? values.model;
  return {
    ...values,
    count: "1",
    model: model === defaultModel ? "" : model,
    width: String(info.width ?? values.width),
    height: String(info.height ?? values.height),
    steps: String(info.steps ?? values.steps),
    guidanceScale: String(info.guidanceScale ?? values.guidanceScale),
    seedMode: info.seed !== null ? "fixed" : values.seedMode,
    seed: info.seed !== null ? String(info.seed) : values.seed,
  };
}

/** The preview's width/height ratio: the typed size when it makes sense, else the fallback, kept within 1:8..8:1. */
export function previewRatio(values: Pick<FormValues, "width" | "height">, fallback = 1): number {
  const width = Number(values.width);
  const height = Number(values.height);
  const ratio = width > 0 && height > 0 && Number.isFinite(width / height) ? width / height : fallback;
  return Math.min(8, Math.max(1 / 8, ratio));
}

export function randomSeed(): number {
  // Up to 2^32 keeps the number short enough to read aloud; the api takes any seed up to its maximum.
  return Math.floor(Math.random() * Math.min(2 ** 32, LIMITS.seed.max));
}
