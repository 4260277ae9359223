// The model and LoRAs of a request: the form's request, an earlier image's values, the done event's loras, the
// limits, and an image's A1111 `Model:` and `Lora hashes:` against the library (src/features/infotext/infotext-library.ts).
import { expect, test } from "@playwright/test";

import openapi from "../openapi.json";
import { LIMITS } from "../src/api/limits";
import { decodeStreamEvent } from "../src/api/stream-events";
import { EMPTY_VALUES, toRequest, valuesOf } from "../src/features/generate/form-values";
import { parseInfotext } from "../src/features/infotext/infotext";
import { infotextLibraryValues, parseLoraHashes } from "../src/features/infotext/infotext-library";
import { LORAS, MODELS, lora } from "./fixtures/library";

const base = { ...EMPTY_VALUES, positivePrompt: "a" };

test("the default model sends no model; another sends its name", () => {
  expect(toRequest(base)).toEqual({ positivePrompt: "a" });
  expect(toRequest({ ...base, model: "juggernaut" })).toEqual({ positivePrompt: "a", model: "juggernaut" });
  expect(toRequest({ ...base, model: "  " })).toEqual({ positivePrompt: "a" });
});

test("the picker's LoRAs are sent as loras with their weights; a blank weight is the api's default; none sends none", () => {
  expect(toRequest({ ...base, loras: [] })).toEqual({ positivePrompt: "a" });
  expect(
    toRequest({ ...base, loras: [{ name: "style/ink", weight: "0.75" }, { name: "detail", weight: "" }, { name: "x", weight: "-2" }] }),
  ).toEqual({ positivePrompt: "a", loras: [{ name: "style/ink", weight: 0.75 }, { name: "detail" }, { name: "x", weight: -2 }] });
  // Out of range is the api's to refuse, with its own message.
  expect(toRequest({ ...base, loras: [{ name: "a", weight: "5" }] }).loras).toEqual([{ name: "a", weight: 5 }]);
});

test("the LoRA limits are the api's schema's", () => {
  const { LoraWeight, GenerateImageRequest } = openapi.components.schemas;
  expect(LIMITS.loraWeight).toEqual({
    min: LoraWeight.properties.weight.minimum,
    max: LoraWeight.properties.weight.maximum,
    step: undefined,
    integer: false,
    default: LoraWeight.properties.weight.default,
  });
  expect(LIMITS.loras.maxItems).toBe(GenerateImageRequest.properties.loras.anyOf[0].maxItems);
});

test("an earlier image comes back with the model that ran (the default as none) and the picker's LoRAs", () => {
  const info = { seed: 3, width: 64, height: 64, steps: 2, guidanceScale: 7, model: "juggernaut", demoModel: false, generationSeconds: 1, filename: null, sampler: null, scheduleType: null, infotext: null, denoisingStrength: null, maskBlur: null, loras: [{ name: "style/ink", weight: 0.5 }, { name: "tagged", weight: 1 }] };
  const sent = { ...base, positivePrompt: "a <lora:tagged>", loras: [{ name: "style/ink", weight: "0.5" }] };
  expect(valuesOf(sent, info, "demo-tiny-sdxl")).toMatchObject({ model: "juggernaut", loras: sent.loras });
  expect(valuesOf({ ...sent, model: "juggernaut" }, { ...info, model: "demo-tiny-sdxl" }, "demo-tiny-sdxl").model).toBe("");
  expect(valuesOf(sent, { ...info, model: null }).model).toBe("");
});

test("the done event's loras are read, a missing weight as 1, a list the api did not send as none", () => {
  const done = (extra: object) =>
    decodeStreamEvent({ event: "done", data: JSON.stringify({ image: "data:image/png;base64,iVBO", seed: 1, ...extra }), id: undefined });
  const read = (extra: object) => {
    const event = done(extra);
    return event?.type === "done" ? event.info.loras : null;
  };
  expect(read({ loras: [{ name: "ink", weight: 0.8 }, { name: "detail" }, { weight: 1 }, "x"] })).toEqual([
    { name: "ink", weight: 0.8 },
    { name: "detail", weight: 1 },
  ]);
  expect(read({})).toEqual([]);
});

test("Lora hashes: names and hashes in order", () => {
  expect(parseLoraHashes("style/ink: 0123456789ab, detail: ffffffffffff")).toEqual([
    { name: "style/ink", hash: "0123456789ab" },
    { name: "detail", hash: "ffffffffffff" },
  ]);
  expect(parseLoraHashes(null)).toEqual([]);
  expect(parseLoraHashes(" , odd")).toEqual([{ name: "odd", hash: "" }]);
});

const text = (params: string, prompt = "a cat") => parseInfotext(`${prompt}\nSteps: 2, Seed: 1, Size: 64x64, ${params}`);
const library = { models: MODELS, loras: LORAS };

test("Model: a listed model is chosen, the default as none; by its hash when renamed; else the default, with a note", () => {
  expect(infotextLibraryValues(text("Model: juggernaut"), library)).toEqual({ patch: { model: "juggernaut", loras: [] }, notes: [] });
  expect(infotextLibraryValues(text("Model: demo-tiny-sdxl"), library).patch.model).toBe("");
  expect(infotextLibraryValues(text("Model hash: ABCDEF0123, Model: old-name"), library).patch.model).toBe("juggernaut");
  const missing = infotextLibraryValues(text("Model: sd_xl_base_1.0"), library);
  expect(missing.patch.model).toBe("");
  expect(missing.notes).toEqual(["The model “sd_xl_base_1.0” is not in this API's library: the default model (demo-tiny-sdxl) is selected instead."]);
  // No Model key: the person's choice stays.
  expect(infotextLibraryValues(text("Version: x"), library).patch).toEqual({ loras: [] });
  expect(infotextLibraryValues(text("Model: juggernaut"), { models: undefined, loras: LORAS }).notes[0]).toMatch(/not known yet/);
});

test("Lora hashes: listed LoRAs go to the picker at weight 1, by name or hash; tagged ones stay the prompt's; others noted", () => {
  const info = text('Lora hashes: "style/ink: 0123456789ab, renamed: ffffffffffff, gone: 999999999999, tagged: 111111111111"', "a cat <lora:tagged:0.4>");
  const { patch, notes } = infotextLibraryValues(info, { models: MODELS, loras: [...LORAS, lora("tagged")] });
  expect(patch.loras).toEqual([
    { name: "style/ink", weight: "1" },
    { name: "detail", weight: "1" },
  ]);
  expect(notes).toEqual(["The LoRA “gone” is not in models/loras/: it was left out."]);
  expect(infotextLibraryValues(info, { models: MODELS, loras: undefined }).patch.loras).toEqual([]);
});
