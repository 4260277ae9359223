// An image's model and LoRAs from its A1111 parameters, against the api's library: `Model:` (or `Model hash:`) →
// the model picker when the library lists it; `Lora hashes: "name: hash, ..."` → the LoRA picker when GET /loras
// lists the name (or the hash). A LoRA the prompt already tags (`<lora:name:w>`, as A1111 writes every one) stays
// the prompt's, with its weight: the picker gets only the others, so none is applied twice. Pure: no DOM, no React.
import { LIMITS } from "@/api/limits";
import type { LibraryLora, LibraryModel } from "@/api/types";
import type { LoraEntry } from "@/features/generate/form-values";
import { parseLoraTags } from "@/features/loras/lora-tags";
import { param, type Infotext } from "./infotext";
import type { InfotextValues } from "./infotext-to-form";

export interface Library {
  /** GET /models; undefined while unknown. */
  models: readonly LibraryModel[] | undefined;
  /** GET /loras; undefined while unknown. */
  loras: readonly LibraryLora[] | undefined;
}

/** `Lora hashes`' entries, "name: hash, name2: hash2" (a name cannot hold `:`), in order. */
export function parseLoraHashes(value: string | null): { name: string; hash: string }[] {
  if (!value) return [];
  const entries: { name: string; hash: string }[] = [];
  for (const item of value.split(",")) {
    const colon = item.indexOf(":");
    const name = (colon < 0 ? item : item.slice(0, colon)).trim();
    if (name) entries.push({ name, hash: colon < 0 ? "" : item.slice(colon + 1).trim() });
  }
  return entries;
}

function modelValues(info: Infotext, models: Library["models"], notes: string[]): string | undefined {
  const name = param(info, "Model");
  const hash = param(info, "Model hash");
  if (name === null && hash === null) return undefined; // the person's choice stays
  const said = name ?? hash ?? "";
  if (!models) {
    notes.push(`The API's models are not known yet, so the model “${said}” was left at the default.`);
    return "";
  }
  const found =
    (name !== null ? models.find((m) => m.name === name) : undefined) ??
    (hash ? models.find((m) => m.hash !== null && m.hash.toLowerCase() === hash.toLowerCase()) : undefined);
  if (found) return found.default ? "" : found.name;
  const fallback = models.find((m) => m.default);
  notes.push(
    `The model “${said}” is not in this API's library: the default model${fallback ? ` (${fallback.name})` : ""} is selected instead.`,
  );
  return "";
}

function loraValues(info: Infotext, loras: Library["loras"], notes: string[]): LoraEntry[] {
  const tagged = new Set(parseLoraTags(info.prompt).map((tag) => tag.name));
  const entries: LoraEntry[] = [];
  for (const { name, hash } of parseLoraHashes(param(info, "Lora hashes"))) {
    if (tagged.has(name)) continue;
    const found =
      loras?.find((l) => l.name === name) ??
      (hash ? loras?.find((l) => l.hash !== null && l.hash.toLowerCase() === hash.toLowerCase()) : undefined);
    if (found) {
      if (!entries.some((e) => e.name === found.name)) entries.push({ name: found.name, weight: String(LIMITS.loraWeight.default) });
    } else {
      notes.push(
        loras
          ? `The LoRA “${name}” is not in models/loras/: it was left out.`
          : `The API's LoRAs are not known yet, so the LoRA “${name}” was left out.`,
      );
    }
  }
  return entries;
}

/**
 * The model and LoRA picker's values for an infotext. The picker's LoRAs are always replaced (an image's
 * parameters make that picture); the model only when the text names one.
 */
export function infotextLibraryValues(info: Infotext, library: Library): InfotextValues {
  const notes: string[] = [];
  const model = modelValues(info, library.models, notes);
  const loras = loraValues(info, library.loras, notes);
  return { patch: model === undefined ? { loras } : { model, loras }, notes };
}

/** Both mappings of an infotext together: the form's values, then the library's. */
export function mergeValues(first: InfotextValues, second: InfotextValues): InfotextValues {
  return { patch: { ...first.patch, ...second.patch }, notes: [...first.notes, ...second.notes] };
}
