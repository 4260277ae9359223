// "Reuse" of a gallery image (src/features/gallery/gallery-values.ts): the form's values through the page's own
// infotext mapping, the LoRA picker from the request as sent, and what the viewer shows.
import { expect, test } from "@playwright/test";

import type { GalleryImage } from "../src/api/types";
import { toRequest, EMPTY_VALUES, type FormValues } from "../src/features/generate/form-values";
import { galleryInfo, galleryInfotext, reuseValues } from "../src/features/gallery/gallery-values";
import type { Infotext } from "../src/features/infotext/infotext";
import { infotextLibraryValues, mergeValues } from "../src/features/infotext/infotext-library";
import { infotextToValues } from "../src/features/infotext/infotext-to-form";
import { LORAS, MODELS, SAMPLERS } from "./fixtures/library";

/** A row as GET /images answers it: a picture made with juggernaut, DPM++ 2M Karras, a picker LoRA and a tag. */
const IMAGE: GalleryImage = {
  id: "b3f1c0de",
  createdAt: "2026-12-03T10:00:00Z",
  positivePrompt: "a lighthouse <lora:detail:0.5>",
  negativePrompt: "fog",
  seed: 1234,
  width: 640,
  height: 512,
  steps: 12,
  guidanceScale: 6.5,
  sampler: "DPM++ 2M",
  scheduleType: "Karras",
  model: "juggernaut",
  modelHash: "abcdef0123",
  demoModel: false,
  loras: [
    { name: "style/ink", weight: 0.75 },
    { name: "detail", weight: 0.5 },
  ],
  initImage: false,
  denoisingStrength: null,
  maskBlur: null,
  format: "png",
  mimeType: "image/png",
  bytes: 1000,
  sha256: "00",
  filename: "img-1234.png",
  generationSeconds: 1.5,
  totalSeconds: 1.75,
  worker: "w1",
  infotext: "",
  starred: false,
  imageIndex: 0,
  imageCount: 1,
  request: { positivePrompt: "a lighthouse <lora:detail:0.5>", loras: [{ name: "style/ink", weight: 0.75 }] },
  fileUrl: "/images/b3f1c0de/file",
  thumbnailUrl: "/images/b3f1c0de/thumbnail",
};

const toValues = (info: Infotext) =>
  mergeValues(infotextToValues(info, SAMPLERS, "Euler"), infotextLibraryValues(info, { models: MODELS, loras: LORAS }));

test("Reuse fills prompts, size, steps, guidance, the fixed seed, sampler and schedule, model and the picker's LoRAs", () => {
  const { patch, notes } = reuseValues(IMAGE, toValues, LORAS);
  expect(notes).toEqual([]);
  const values: FormValues = { ...EMPTY_VALUES, ...patch };
  // What Generate sends then: the same picture's request, the prompt keeping its own tag (applied once).
  expect(toRequest(values)).toEqual({
    positivePrompt: "a lighthouse <lora:detail:0.5>",
    negativePrompt: "fog",
    width: 640,
    height: 512,
    steps: 12,
    guidanceScale: 6.5,
    seed: 1234,
    sampler: "DPM++ 2M",
    scheduleType: "Karras",
    model: "juggernaut",
    loras: [{ name: "style/ink", weight: 0.75 }],
  });
});

test("the model's own sampler and the library's default model are the form's defaults (nothing sent)", () => {
  const image = { ...IMAGE, sampler: "Euler", scheduleType: "Automatic", model: "demo-tiny-sdxl", modelHash: null };
  const { patch } = reuseValues(image, toValues, LORAS);
  expect(patch.sampler).toBe("");
  expect(patch.model).toBe("");
  expect(patch.scheduleType).toBe("Automatic");
});

test("a LoRA or model the library no longer has is left out, with a note that says so", () => {
  const image = { ...IMAGE, model: "gone", modelHash: "9999", request: { loras: [{ name: "old-style", weight: 1 }] } };
  const { patch, notes } = reuseValues(image, toValues, LORAS);
  expect(patch.model).toBe("");
  expect(patch.loras).toEqual([]);
  expect(notes).toEqual([
    "The model “gone” is not in this API's library: the default model (demo-tiny-sdxl) is selected instead.",
    "The LoRA “old-style” is not in models/loras/: it was left out.",
  ]);
  // Before GET /loras has answered, the LoRAs cannot be matched yet.
  expect(reuseValues(IMAGE, toValues, undefined).notes).toEqual([
    "The API's LoRAs are not known yet, so the LoRA “style/ink” was left out.",
  ]);
});

test("the viewer shows the row's values as the page shows a fresh image's", () => {
  expect(galleryInfo(IMAGE)).toMatchObject({ seed: 1234, width: 640, sampler: "DPM++ 2M", infotext: null, loras: IMAGE.loras });
  expect(galleryInfotext({ ...IMAGE, scheduleType: "", modelHash: null }).params.map(([key]) => key)).toEqual([
    "Steps",
    "Sampler",
    "CFG scale",
    "Seed",
    "Size",
    "Model",
  ]);
});
