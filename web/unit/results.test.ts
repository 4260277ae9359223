// The request the form sends for the new fields (sampler, schedule type, count), and a finished request's images
// as history entries (src/features/generate/result-images.ts).
import { expect, test } from "@playwright/test";

import openapi from "../openapi.json";
import type { GenerateResult } from "../src/api/client";
import { LIMITS } from "../src/api/limits";
import { EMPTY_VALUES, toRequest, valuesOf } from "../src/features/generate/form-values";
import { imageFilename, resultImages } from "../src/features/generate/result-images";

const INFOTEXT = "a cat\nSteps: 2, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 10, Size: 64x64";
const INFO = {
  seed: 10,
  width: 64,
  height: 64,
  steps: 2,
  guidanceScale: 7,
  model: "demo-tiny-sdxl",
  demoModel: true,
  generationSeconds: 0.3,
  filename: "img-10.webp",
  sampler: "DPM++ 2M",
  scheduleType: "Karras",
  infotext: INFOTEXT,
  denoisingStrength: null,
  maskBlur: null,
  loras: [],
};

test("sampler, schedule type and count are sent only when they differ from the defaults", () => {
  const base = { ...EMPTY_VALUES, positivePrompt: "a" };
  expect(toRequest(base)).toEqual({ positivePrompt: "a" });
  expect(toRequest({ ...base, sampler: "", scheduleType: "Automatic", count: "1" })).toEqual({ positivePrompt: "a" });
  expect(toRequest({ ...base, sampler: "DPM++ 2M", scheduleType: "Karras", count: "3" })).toEqual({
    positivePrompt: "a",
    sampler: "DPM++ 2M",
    scheduleType: "Karras",
    count: 3,
  });
  // Out of range is the api's to refuse, with its own message.
  expect(toRequest({ ...base, count: "0" })).toEqual({ positivePrompt: "a", count: 0 });
  expect(toRequest({ ...base, count: "" })).toEqual({ positivePrompt: "a" });
  const count = openapi.components.schemas.GenerateImageRequest.properties.count.anyOf[0];
  expect(LIMITS.count).toEqual({ min: count.minimum, max: count.maximum, step: 1, integer: true });
});

test("an earlier image comes back as one image with its own seed", () => {
  expect(valuesOf({ ...EMPTY_VALUES, count: "3", sampler: "Euler a" }, { ...INFO, seed: 12 })).toMatchObject({
    count: "1",
    seed: "12",
    seedMode: "fixed",
    sampler: "Euler a",
  });
});

test("each image of a request gets its seed, the api's file name pattern with the first's extension, and its infotext", () => {
  const blob = (type: string) => new Blob([new Uint8Array([1])], { type });
  const result: GenerateResult = {
    blob: blob("image/webp"),
    images: [10, 11, 12].map((seed) => ({ blob: blob("image/webp"), seed })),
    info: INFO,
  };
  result.blob = result.images[0].blob;
  const values = { ...EMPTY_VALUES, positivePrompt: "a cat", count: "3" };
  const entries = resultImages(result, values, 1234);
  expect(entries.map((e) => [e.info.seed, e.info.filename])).toEqual([
    [10, "img-10.webp"],
    [11, "img-11.webp"],
    [12, "img-12.webp"],
  ]);
  expect(entries[0].info.infotext).toBe(INFOTEXT);
  expect(entries[2].info.infotext).toBe(INFOTEXT.replace("Seed: 10", "Seed: 12"));
  expect(entries.every((e) => e.values === values && e.elapsedMs === 1234)).toBe(true);
  expect(entries[1].blob).toBe(result.images[1].blob);
});

test("a file name without the first's falls back to the image's type; no seed, no name", () => {
  expect(imageFilename(null, 5, "image/jpeg")).toBe("img-5.jpg");
  expect(imageFilename("img-4.png", 5, "image/jpeg")).toBe("img-5.png");
  expect(imageFilename(null, 5, "application/octet-stream")).toBeNull();
  expect(imageFilename("img-4.png", null, "image/png")).toBeNull();
});
