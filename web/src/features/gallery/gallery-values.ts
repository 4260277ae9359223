// "Reuse" of a gallery image: its values as the form's. The sampler, schedule, model and prompts go through the
// same mapping as an imported file's parameters (infotext-to-form.ts, infotext-library.ts), so both agree on
// names, defaults and notes; the LoRA picker gets the LoRAs the request sent, with their weights (the prompt
// keeps its own tags). Pure: no DOM, no React.
import type { GenerationInfo } from "@/api/stream-events";
import type { GalleryImage, LibraryLora } from "@/api/types";
import type { LoraEntry } from "@/features/generate/form-values";
import type { Infotext } from "@/features/infotext/infotext";
import type { InfotextValues } from "@/features/infotext/infotext-to-form";

/** The image's values in A1111's words, as its file's parameters would give them (whether or not it holds any). */
export function galleryInfotext(image: GalleryImage): Infotext {
  const params: [string, string][] = [
    ["Steps", String(image.steps)],
    ["Sampler", image.sampler],
    ["CFG scale", String(image.guidanceScale)],
    ["Seed", String(image.seed)],
    ["Size", `${image.width}x${image.height}`],
    ["Model", image.model],
  ];
  if (image.scheduleType) params.push(["Schedule type", image.scheduleType]);
  if (image.modelHash) params.push(["Model hash", image.modelHash]);
  return { prompt: image.positivePrompt, negativePrompt: image.negativePrompt, params };
}

/** The picker's LoRAs the request sent (`request.loras`), those GET /loras still lists, each with its weight. */
export function requestLoras(image: GalleryImage, loras: readonly LibraryLora[] | undefined): InfotextValues {
  const sent = Array.isArray(image.request.loras) ? (image.request.loras as unknown[]) : [];
  const entries: LoraEntry[] = [];
  const notes: string[] = [];
  for (const entry of sent) {
    if (!entry || typeof entry !== "object") continue;
    const { name, weight } = entry as { name?: unknown; weight?: unknown };
    if (typeof name !== "string") continue;
    if (loras?.some((lora) => lora.name === name)) {
      entries.push({ name, weight: typeof weight === "number" ? String(weight) : "" });
    } else {
      notes.push(
        loras
          ? `The LoRA “${name}” is not in models/loras/: it was left out.`
          : `The API's LoRAs are not known yet, so the LoRA “${name}” was left out.`,
      );
    }
  }
  return { patch: { loras: entries }, notes };
}

/** The form's values for Reuse: `toValues` is the page's infotext mapping (it knows samplers, models, defaults). */
export function reuseValues(
  image: GalleryImage,
  toValues: (info: Infotext) => InfotextValues,
  loras: readonly LibraryLora[] | undefined,
): InfotextValues {
  const mapped = toValues(galleryInfotext(image));
  const picked = requestLoras(image, loras);
  return { patch: { ...mapped.patch, ...picked.patch }, notes: [...mapped.notes, ...picked.notes] };
}

/** The image's values in the shape the page shows for the image it just made (ParameterList). */
export function galleryInfo(image: GalleryImage): GenerationInfo {
  return {
    seed: image.seed,
    width: image.width,
    height: image.height,
    steps: image.steps,
    guidanceScale: image.guidanceScale,
    model: image.model,
    demoModel: image.demoModel,
    generationSeconds: image.generationSeconds,
    filename: image.filename,
    sampler: image.sampler,
    scheduleType: image.scheduleType,
    infotext: image.infotext || null,
    denoisingStrength: image.denoisingStrength,
    maskBlur: image.maskBlur,
    loras: image.loras.map(({ name, weight }) => ({ name, weight: weight ?? 1 })),
  };
}

/** How a tile names its image for a screen reader and a tooltip. */
export function describeImage(image: GalleryImage): string {
  return `seed ${image.seed}, ${image.width} × ${image.height}, “${image.positivePrompt}”`;
}
