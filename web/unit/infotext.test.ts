// The A1111 infotext parser (src/features/infotext/infotext.ts) and its mapping to the form (infotext-to-form.ts).
import { expect, test } from "@playwright/test";

import { formatInfotext, param, parseInfotext, parseSize, withSeed } from "../src/features/infotext/infotext";
import { infotextToValues, resolveSampler } from "../src/features/infotext/infotext-to-form";
import { SAMPLERS } from "./fixtures/library";

const LIGHTHOUSE =
  "a lighthouse at dusk\nNegative prompt: blurry, low quality\n" +
  "Steps: 5, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 42, Size: 72x64, " +
  "Model: demo-tiny-sdxl, Version: img-generator 0.1.0";

test("parses the prompt, the negative prompt and the last line's parameters in order", () => {
  const info = parseInfotext(LIGHTHOUSE);
  expect(info.prompt).toBe("a lighthouse at dusk");
  expect(info.negativePrompt).toBe("blurry, low quality");
  expect(info.params).toEqual([
    ["Steps", "5"],
    ["Sampler", "DPM++ 2M"],
    ["Schedule type", "Karras"],
    ["CFG scale", "6.5"],
    ["Seed", "42"],
    ["Size", "72x64"],
    ["Model", "demo-tiny-sdxl"],
    ["Version", "img-generator 0.1.0"],
  ]);
  expect(param(info, "CFG scale")).toBe("6.5");
  expect(param(info, "Clip skip")).toBeNull();
  expect(parseSize(param(info, "Size"))).toEqual({ width: 72, height: 64 });
  expect(parseSize("big")).toBeNull();
});

test("round trip: formatting what was parsed gives back the text, quoted values and multi-line prompts included", () => {
  const texts = [
    LIGHTHOUSE,
    "a cat\nSteps: 2, Sampler: Euler, Schedule type: Uniform, CFG scale: 7, Seed: 10, Size: 64x64, Model: demo-tiny-sdxl",
    'first line\nsecond line, with a comma\nNegative prompt: ugly\nand more\n' +
      'Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 1024x1024, Model: "sdxl, v1: final", Lora hashes: "a: 1, b: 2"',
    "un phare au crépuscule, «huile» 灯台\nSteps: 3, Sampler: Euler a, CFG scale: 7, Seed: 7, Size: 8x8",
  ];
  for (const text of texts) expect(formatInfotext(parseInfotext(text))).toBe(text);
  const quoted = parseInfotext(texts[2]);
  expect(quoted.prompt).toBe("first line\nsecond line, with a comma");
  expect(quoted.negativePrompt).toBe("ugly\nand more");
  expect(param(quoted, "Model")).toBe("sdxl, v1: final");
  expect(param(quoted, "Lora hashes")).toBe("a: 1, b: 2");
});

test("a text whose last line has fewer than 3 parameters is all prompt; CRLF and blank edges are fine", () => {
  expect(parseInfotext("just a prompt: with a colon")).toEqual({ prompt: "just a prompt: with a colon", negativePrompt: "", params: [] });
  const crlf = parseInfotext("\r\n  a dog  \r\nNegative prompt: cat\r\nSteps: 4, Seed: 9, Size: 8x16\r\n");
  expect(crlf).toEqual({ prompt: "a dog", negativePrompt: "cat", params: [["Steps", "4"], ["Seed", "9"], ["Size", "8x16"]] });
});

test("withSeed changes only the parameters line's seed", () => {
  expect(withSeed(LIGHTHOUSE, 43)).toBe(LIGHTHOUSE.replace("Seed: 42", "Seed: 43"));
  // A "Seed: 42" in the prompt is the prompt's.
  const text = "Seed: 42 as a title\nSteps: 1, Seed: 42, Size: 8x8";
  expect(withSeed(text, 7)).toBe("Seed: 42 as a title\nSteps: 1, Seed: 7, Size: 8x8");
});

test("fills the form's prompt, negative prompt, steps, sampler, schedule type, CFG, seed and size; ignores the rest", () => {
  const { patch, notes } = infotextToValues(parseInfotext(LIGHTHOUSE), SAMPLERS, "Euler");
  expect(patch).toEqual({
    positivePrompt: "a lighthouse at dusk",
    negativePrompt: "blurry, low quality",
    count: "1",
    steps: "5",
    guidanceScale: "6.5",
    seedMode: "fixed",
    seed: "42",
    width: "72",
    height: "64",
    sampler: "DPM++ 2M",
    scheduleType: "Karras",
  });
  expect(notes).toEqual([]);
});

test("the model's own sampler is the form's default; a legacy name gives its schedule; names match in any case", () => {
  const own = infotextToValues(parseInfotext("x\nSteps: 2, Sampler: euler, Schedule type: Uniform, Seed: 1"), SAMPLERS, "Euler");
  expect(own.patch).toMatchObject({ sampler: "", scheduleType: "Uniform" });
  expect(resolveSampler(SAMPLERS, "DPM++ 2M Karras")).toEqual({ sampler: SAMPLERS[0], schedule: "Karras" });
  expect(resolveSampler(SAMPLERS, "k_euler_a")).toEqual({ sampler: SAMPLERS[1], schedule: null });
  expect(resolveSampler(SAMPLERS, "Euler a Karras")).toBeNull(); // Euler a takes no Karras
  const legacy = infotextToValues(parseInfotext("x\nSteps: 2, Sampler: DPM++ 2M Karras, Seed: 1"), SAMPLERS, "Euler");
  expect(legacy.patch).toMatchObject({ sampler: "DPM++ 2M", scheduleType: "Karras" });
  expect(legacy.notes).toEqual([]);
});

test("a sampler the api does not list is left unset with a note, and so is a schedule type it cannot take", () => {
  const unknown = infotextToValues(parseInfotext("x\nSteps: 2, Sampler: Restart, Schedule type: Karras, Seed: 1"), SAMPLERS, "Euler");
  expect(unknown.patch).toMatchObject({ sampler: "", scheduleType: "Karras" });
  expect(unknown.notes).toEqual(["The sampler “Restart” is not one this API offers: the model's default (Euler) is selected instead."]);

  const schedule = infotextToValues(parseInfotext("x\nSteps: 2, Sampler: Euler a, Schedule type: Karras, Seed: 1"), SAMPLERS, "Euler");
  expect(schedule.patch).toMatchObject({ sampler: "Euler a", scheduleType: "Automatic" });
  expect(schedule.notes).toEqual(["The schedule type “Karras” does not apply here: Automatic is selected instead."]);

  const notLoaded = infotextToValues(parseInfotext(LIGHTHOUSE), undefined, undefined);
  expect(notLoaded.patch.sampler).toBe("");
  expect(notLoaded.notes[0]).toMatch(/samplers are not known yet/);
});

test("values that are not numbers are not put in the form; no negative prompt clears it", () => {
  const { patch } = infotextToValues(parseInfotext("a\nSteps: many, CFG scale: 7, Seed: x, Size: big"), SAMPLERS, "Euler");
  expect(patch).toEqual({ positivePrompt: "a", negativePrompt: "", count: "1", guidanceScale: "7" });
});
