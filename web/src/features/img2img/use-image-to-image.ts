// The image to image mode's state: on or off, the init image, its strength, resize mode and mask.
import { useCallback, useState } from "react";

import { INITIAL_IMAGE_TO_IMAGE, type ImageToImage } from "./img2img-request";
import { blobToInitImage, urlToInitImage } from "./init-image";

export function useImageToImage() {
  const [state, setState] = useState<ImageToImage>(INITIAL_IMAGE_TO_IMAGE);
  const [problem, setProblem] = useState<string | null>(null);

  const update = useCallback((patch: Partial<ImageToImage>) => setState((current) => ({ ...current, ...patch })), []);

  // A new init image starts with no mask: the old one was painted over another picture.
  const load = useCallback(async (read: () => Promise<ImageToImage["init"]>) => {
    try {
      const init = await read();
      setProblem(null);
      setState((current) => ({ ...current, enabled: true, init, mask: null }));
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  }, []);

  const setFile = useCallback((file: File) => load(() => blobToInitImage(file, file.name || "the pasted image")), [load]);
  /** "Send to image to image": a shown result becomes the init image, and the mode comes on. */
  const sendImage = useCallback((url: string, name: string) => load(() => urlToInitImage(url, name)), [load]);

  return { state, problem, update, setFile, sendImage };
}

export type ImageToImageControls = ReturnType<typeof useImageToImage>;
