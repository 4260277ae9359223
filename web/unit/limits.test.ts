// The page's limits (src/api/limits.ts) are the api's, read from web/openapi.json; and the form's request.
import { expect, test } from "@playwright/test";

import openapi from "../openapi.json";
import { LIMITS } from "../src/api/limits";
import { retryAtFrom, retryText } from "../src/api/problem";
import { EMPTY_VALUES, toRequest, valuesOf } from "../src/features/generate/form-values";

const properties = openapi.components.schemas.GenerateImageRequest.properties;

test("every limit is the one in the api's schema, the nullable fields' included", () => {
  expect(LIMITS.positivePrompt.maxLength).toBe(properties.positivePrompt.maxLength);
  expect(LIMITS.negativePrompt.maxLength).toBe(properties.negativePrompt.maxLength);
  expect(LIMITS.negativePrompt.default).toBe(properties.negativePrompt.default);
  const width = properties.width.anyOf[0];
  expect(LIMITS.width).toEqual({ min: width.minimum, max: width.maximum, step: width.multipleOf, integer: true });
  expect(LIMITS.height.step).toBe(properties.height.anyOf[0].multipleOf);
  expect(LIMITS.steps).toMatchObject({ min: properties.steps.anyOf[0].minimum, max: properties.steps.anyOf[0].maximum, step: 1 });
  expect(LIMITS.guidanceScale).toMatchObject({ max: properties.guidanceScale.anyOf[0].maximum, step: undefined, integer: false });
  expect(LIMITS.seed.max).toBe(properties.seed.anyOf[0].maximum);
});

test("a blank number field is left to the worker; a random seed is not sent", () => {
  expect(toRequest({ ...EMPTY_VALUES, positivePrompt: "a cat" })).toEqual({ positivePrompt: "a cat" });
  expect(
    toRequest({ ...EMPTY_VALUES, positivePrompt: "a", negativePrompt: "b", width: "260", steps: "2", seed: "5" }),
  ).toEqual({ positivePrompt: "a", negativePrompt: "b", width: 260, steps: 2 });
  expect(toRequest({ ...EMPTY_VALUES, positivePrompt: "a", seedMode: "fixed", seed: "7" })).toEqual({
    positivePrompt: "a",
    seed: 7,
  });
});

test("an earlier image's values come back with the values the worker used and its seed fixed", () => {
  const info = { seed: 9, width: 128, height: 64, steps: 3, guidanceScale: 5, model: null, demoModel: null, generationSeconds: null, filename: null, sampler: null, scheduleType: null, infotext: null, denoisingStrength: null, maskBlur: null, loras: [] };
  expect(valuesOf({ ...EMPTY_VALUES, positivePrompt: "x" }, info)).toEqual({
    ...EMPTY_VALUES,
    positivePrompt: "x",
    width: "128",
    height: "64",
    steps: "3",
    guidanceScale: "5",
    seedMode: "fixed",
    seed: "9",
  });
});

test("Retry-After in seconds or as an HTTP date says when to try again", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  expect(retryAtFrom("12", now)).toBe(now + 12_000);
  expect(retryAtFrom(3, now)).toBe(now + 3_000);
  expect(retryAtFrom("Thu, 01 Jan 2026 12:01:00 GMT", now)).toBe(now + 60_000);
  expect(retryAtFrom(null, now)).toBeNull();
  expect(retryAtFrom("soon", now)).toBeNull();
  expect(retryAtFrom(-1, now)).toBeNull();
  expect(retryText(now + 12_000, now)).toMatch(/^Try again in 12 s \(at .+\)\.$/);
  expect(retryText(null, now)).toBe("");
});
