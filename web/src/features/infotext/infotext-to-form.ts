// An image's A1111 parameters as the form's values: prompt, negative prompt, steps, sampler, schedule type,
// CFG scale, seed and size (the model and LoRAs: infotext-library.ts). Other keys (Version, Hires upscale, ...) are
// ignored. Pure: no DOM, no React.
import type { SamplerInfo } from "@/api/types";
import { AUTOMATIC_SCHEDULE, type FormValues } from "@/features/generate/form-values";
import { param, parseSize, type Infotext } from "./infotext";

export interface InfotextValues {
  /** The values to put in the form; a key the text does not give is left as the person had it. */
  patch: Partial<FormValues>;
  /** What could not be taken as it was, in the words the page shows. */
  notes: string[];
}

// A1111's names from before schedule types were their own field: "DPM++ 2M Karras" is DPM++ 2M with Karras.
const LEGACY_SCHEDULES = ["Karras", "Exponential"];

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
const named = (samplers: readonly SamplerInfo[], name: string) =>
  samplers.find((s) => same(s.name, name)) ?? samplers.find((s) => s.aliases.some((alias) => same(alias, name)));

/** A sampler by A1111's name, alias or legacy "<name> Karras", with the schedule a legacy name implies. */
export function resolveSampler(
  samplers: readonly SamplerInfo[],
  name: string,
): { sampler: SamplerInfo; schedule: string | null } | null {
  const exact = samplers.find((s) => same(s.name, name));
  if (exact) return { sampler: exact, schedule: null };
  for (const schedule of LEGACY_SCHEDULES) {
    const suffix = ` ${schedule}`;
    if (!name.trim().toLowerCase().endsWith(suffix.toLowerCase())) continue;
    const base = named(samplers, name.trim().slice(0, -suffix.length));
    if (base?.scheduleTypes.includes(schedule)) return { sampler: base, schedule };
  }
  const alias = named(samplers, name);
  return alias ? { sampler: alias, schedule: null } : null;
}

const isNumber = (value: string | null): value is string => value !== null && value !== "" && Number.isFinite(Number(value));

/**
 * The form's values for an infotext. `samplers` is GET /samplers (undefined while unknown) and `defaultSampler`
 * the model's own: that one is the form's "" (nothing sent). A sampler the api does not list is left unset, with
 * a note; so is a schedule type the sampler does not take.
 */
export function infotextToValues(
  info: Infotext,
  samplers: readonly SamplerInfo[] | undefined,
  defaultSampler: string | undefined,
): InfotextValues {
  const patch: Partial<FormValues> = {
    positivePrompt: info.prompt,
    negativePrompt: info.negativePrompt,
    // An image's parameters make that one image.
    count: "1",
  };
  const notes: string[] = [];
  const steps = param(info, "Steps");
  if (isNumber(steps)) patch.steps = steps;
  const cfg = param(info, "CFG scale");
  if (isNumber(cfg)) patch.guidanceScale = cfg;
  const seed = param(info, "Seed");
  if (isNumber(seed)) Object.assign(patch, { seedMode: "fixed", seed });
  const size = parseSize(param(info, "Size"));
  if (size) Object.assign(patch, { width: String(size.width), height: String(size.height) });

  const samplerName = param(info, "Sampler");
  let sampler: SamplerInfo | undefined = samplers?.find((s) => s.name === defaultSampler);
  let legacySchedule: string | null = null;
  if (samplerName !== null) {
    const found = samplers ? resolveSampler(samplers, samplerName) : null;
    if (found) {
      sampler = found.sampler;
      legacySchedule = found.schedule;
      patch.sampler = found.sampler.name === defaultSampler ? "" : found.sampler.name;
    } else {
      patch.sampler = "";
      const fallback = defaultSampler ? `the model's default (${defaultSampler})` : "the model's default";
      notes.push(
        samplers
          ? `The sampler “${samplerName}” is not one this API offers: ${fallback} is selected instead.`
          : `The API's samplers are not known yet, so the sampler “${samplerName}” was left unset.`,
      );
    }
  }

  const schedule = param(info, "Schedule type") ?? legacySchedule;
  if (schedule !== null || samplerName !== null) {
    const wanted = schedule ?? AUTOMATIC_SCHEDULE;
    const takes = sampler?.scheduleTypes ?? [AUTOMATIC_SCHEDULE];
    const match = takes.find((s) => same(s, wanted));
    patch.scheduleType = match ?? AUTOMATIC_SCHEDULE;
    if (!match) notes.push(`The schedule type “${wanted}” does not apply here: Automatic is selected instead.`);
  }
  return { patch, notes };
}
