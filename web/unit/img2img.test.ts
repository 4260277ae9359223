// Image to image and inpainting: the request's fields (only in that mode, with an init image), the limits read from
// the schema, and the mask PNG the page writes (its size is the init image's; white repaints).
import { inflateSync } from "node:zlib";

import { expect, test } from "@playwright/test";

import openapi from "../openapi.json";
import { LIMITS } from "../src/api/limits";
import { decodeStreamEvent } from "../src/api/stream-events";
import { EMPTY_VALUES, toRequest } from "../src/features/generate/form-values";
import { INITIAL_IMAGE_TO_IMAGE, withImageToImage, type ImageToImage } from "../src/features/img2img/img2img-request";
import { encodeMaskPng, maskFromAlpha, pngSize } from "../src/features/img2img/mask-png";

const INIT = { dataUrl: "data:image/png;base64,iVBORw0KGgo=", width: 200, height: 136, name: "init.png" };
const base = toRequest({ ...EMPTY_VALUES, positivePrompt: "a boat", width: "128", height: "128", steps: "3" });
const NONE = { width: false, height: false };

test("text to image sends no image to image field, even with an init image chosen", () => {
  expect(withImageToImage(base, INITIAL_IMAGE_TO_IMAGE, NONE)).toEqual(base);
  const off: ImageToImage = { ...INITIAL_IMAGE_TO_IMAGE, enabled: false, init: INIT, mask: "data:image/png;base64,AAAA" };
  expect(withImageToImage(base, off, NONE)).toEqual(base);
  // The mode on but no image yet: still text to image.
  expect(withImageToImage(base, { ...INITIAL_IMAGE_TO_IMAGE, enabled: true }, NONE)).toEqual(base);
});

test("image to image sends initImage and denoisingStrength, width/height only where the person set them", () => {
  const on: ImageToImage = { ...INITIAL_IMAGE_TO_IMAGE, enabled: true, init: INIT, denoisingStrength: 0.4 };
  const request = withImageToImage(base, on, NONE);
  expect(request).toEqual({ positivePrompt: "a boat", steps: 3, initImage: INIT.dataUrl, denoisingStrength: 0.4 });
  expect(request).not.toHaveProperty("mask");
  expect(request).not.toHaveProperty("maskBlur");
  expect(request).not.toHaveProperty("resizeMode");
  const sized = withImageToImage(base, { ...on, resizeMode: "crop and resize" }, { width: true, height: true });
  expect(sized).toMatchObject({ width: 128, height: 128, resizeMode: "crop and resize" });
});

test("a painted mask is sent with its blur; none painted sends neither", () => {
  const mask = maskFromAlpha(2, 1, new Uint8ClampedArray([0, 0, 0, 255, 0, 0, 0, 0]));
  const on: ImageToImage = { ...INITIAL_IMAGE_TO_IMAGE, enabled: true, init: INIT, mask, maskBlur: 9 };
  expect(withImageToImage(base, on, NONE)).toMatchObject({ mask, maskBlur: 9, initImage: INIT.dataUrl });
});

test("the strength and blur limits and defaults are the schema's", () => {
  const props = openapi.components.schemas.GenerateImageRequest.properties;
  expect(LIMITS.denoisingStrength.exclusiveMin).toBe(props.denoisingStrength.exclusiveMinimum);
  expect(LIMITS.denoisingStrength.max).toBe(props.denoisingStrength.maximum);
  expect(LIMITS.denoisingStrength.min).toBeGreaterThan(LIMITS.denoisingStrength.exclusiveMin);
  expect(LIMITS.denoisingStrength.default).toBe(0.75);
  expect(LIMITS.maskBlur).toMatchObject({ min: 0, max: 64, integer: true, default: 4 });
  expect(INITIAL_IMAGE_TO_IMAGE.denoisingStrength).toBe(LIMITS.denoisingStrength.default);
});

test("the mask PNG has the init image's pixel size and its pixels (white = painted)", () => {
  const width = 300;
  const height = 220; // > 65535 bytes of image data: several stored deflate blocks
  const rgba = new Uint8ClampedArray(width * height * 4);
  rgba[(5 * width + 7) * 4 + 3] = 255;
  const url = maskFromAlpha(width, height, rgba);
  expect(url.startsWith("data:image/png;base64,")).toBe(true);
  expect(pngSize(url)).toEqual({ width, height });
  const png = Buffer.from(url.slice(url.indexOf(",") + 1), "base64");
  // IDAT decodes (zlib checks the adler32) to one filter byte and `width` grey bytes per row.
  const idatLength = png.readUInt32BE(33);
  expect(png.toString("latin1", 37, 41)).toBe("IDAT");
  const raw = inflateSync(png.subarray(41, 41 + idatLength));
  expect(raw.length).toBe(height * (width + 1));
  expect(raw[5 * (width + 1) + 1 + 7]).toBe(255);
  expect(raw.filter((byte) => byte === 255).length).toBe(1);
  expect(png[25]).toBe(0); // colour type: greyscale
});

test("a mask of the wrong pixel count is refused", () => {
  expect(() => encodeMaskPng(4, 4, new Uint8Array(15))).toThrow(/16 pixels/);
  expect(pngSize(new Uint8Array([1, 2, 3]))).toBeNull();
});

test("the done event's denoisingStrength and maskBlur are read, null for text to image", () => {
  const done = (extra: object) =>
    decodeStreamEvent({ event: "done", data: JSON.stringify({ image: INIT.dataUrl, seed: 1, ...extra }), id: undefined });
  const img2img = done({ denoisingStrength: 0.5, maskBlur: 4 });
  expect(img2img?.type === "done" && img2img.info).toMatchObject({ denoisingStrength: 0.5, maskBlur: 4 });
  const text = done({ denoisingStrength: null, maskBlur: null });
  expect(text?.type === "done" && text.info).toMatchObject({ denoisingStrength: null, maskBlur: null });
});
