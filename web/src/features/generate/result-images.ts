// A finished request's images as history entries: each with its own seed, its file name in the api's pattern
// (img-<seed>.<ext>, as the done event's filename names the first) and the infotext its file holds.
import type { GenerateResult } from "@/api/client";
import type { NewImage } from "@/features/history/use-history";
import { withSeed } from "@/features/infotext/infotext";
import type { FormValues } from "./form-values";

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

/** The file name of the request's image with `seed`: the first's extension, else its type's. */
export function imageFilename(first: string | null, seed: number | null, type: string): string | null {
  if (seed === null) return null;
  const extension = first?.match(/\.([A-Za-z0-9]+)$/)?.[1] ?? EXTENSIONS[type];
  return extension ? `img-${seed}.${extension}` : null;
}

export function resultImages(result: GenerateResult, values: FormValues, elapsedMs: number): NewImage[] {
  const { info } = result;
  return result.images.map(({ blob, seed }, index) => {
    if (index === 0) return { blob, values, elapsedMs, info: { ...info, seed: seed ?? info.seed } };
    return {
      blob,
      values,
      elapsedMs,
      info: {
        ...info,
        seed,
        filename: imageFilename(info.filename, seed, blob.type),
        infotext: info.infotext !== null && seed !== null ? withSeed(info.infotext, seed) : info.infotext,
      },
    };
  });
}
