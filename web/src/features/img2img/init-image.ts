// Turning a file, a drop or a shown result into the init image: a data: URL and its pixel size, read in the browser.
import { imageKind } from "@/features/infotext/image-infotext";
import type { InitImage } from "./img2img-request";

function readAsDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("the file could not be read"));
    reader.readAsDataURL(blob);
  });
}

function naturalSize(url: string): Promise<{ width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve({ width: image.naturalWidth, height: image.naturalHeight });
    image.onerror = () => reject(new Error("the browser cannot show it as an image"));
    image.src = url;
  });
}

const MIME = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" } as const;

/** A PNG, JPEG or WebP as the init image; throws, in the words the page shows, for anything else. */
export async function blobToInitImage(blob: Blob, name: string): Promise<InitImage> {
  const kind = imageKind(new Uint8Array(await blob.arrayBuffer()));
  if (kind === null) throw new Error(`${name} is not a PNG, JPEG or WebP image.`);
  // The type the bytes say, whatever the file claimed: the api reads the data: URL's bytes.
  const dataUrl = await readAsDataUrl(new Blob([blob], { type: MIME[kind] }));
  const { width, height } = await naturalSize(dataUrl);
  return { dataUrl, width, height, name };
}

/** A shown result (a blob: URL of the history) as the next init image. */
export async function urlToInitImage(url: string, name: string): Promise<InitImage> {
  const response = await fetch(url);
  return blobToInitImage(await response.blob(), name);
}
