// Image to image and inpainting as the request's fields: sent only in that mode and with an init image, so a text
// to image request stays exactly what it was. Limits and defaults are the api's (LIMITS, from its schema).
import { LIMITS } from "@/api/limits";
import type { GenerateRequest } from "@/api/types";

export type ResizeMode = NonNullable<GenerateRequest["resizeMode"]>;

export const RESIZE_MODES: readonly ResizeMode[] = ["just resize", "crop and resize", "resize and fill"];

/** An init image as the page holds it: a data: URL (what is sent) and its pixel size (the mask's). */
export interface InitImage {
  dataUrl: string;
  width: number;
  height: number;
  name: string;
}

export interface ImageToImage {
  enabled: boolean;
  init: InitImage | null;
  denoisingStrength: number;
  resizeMode: ResizeMode;
  /** The painted mask as a PNG data URL of the init image's size; null when nothing is painted. */
  mask: string | null;
  maskBlur: number;
}

export const INITIAL_IMAGE_TO_IMAGE: ImageToImage = {
  enabled: false,
  init: null,
  denoisingStrength: LIMITS.denoisingStrength.default,
  resizeMode: "just resize",
  mask: null,
  maskBlur: LIMITS.maskBlur.default,
};

/** Whether Generate makes an image from the init image. */
export const usesInitImage = (state: ImageToImage): state is ImageToImage & { init: InitImage } =>
  state.enabled && state.init !== null;

/**
 * `request` (the form's) with the image to image fields when the mode is on and has an image. Width and height
 * stay only where the person set them (`sizeSet`): without them the api answers the init image's size.
 */
export function withImageToImage(
  request: GenerateRequest,
  state: ImageToImage,
  sizeSet: { width: boolean; height: boolean },
): GenerateRequest {
  if (!usesInitImage(state)) return request;
  const next: GenerateRequest = { ...request, initImage: state.init.dataUrl, denoisingStrength: state.denoisingStrength };
  if (!sizeSet.width) delete next.width;
  if (!sizeSet.height) delete next.height;
  if (state.resizeMode !== "just resize") next.resizeMode = state.resizeMode;
  if (state.mask !== null) {
    next.mask = state.mask;
    next.maskBlur = state.maskBlur;
  }
  return next;
}
