// The history strip's state (src/features/history/history-reducer.ts): newest first, at most HISTORY_LIMIT.
import { expect, test } from "@playwright/test";

import {
  EMPTY_HISTORY,
  HISTORY_LIMIT,
  batchOf,
  historyReducer,
  type GeneratedImage,
} from "../src/features/history/history-reducer";
import { EMPTY_VALUES } from "../src/features/generate/form-values";

const image = (id: number): GeneratedImage => ({
  id,
  url: `blob:http://page/${id}`,
  sizeBytes: 10,
  values: EMPTY_VALUES,
  info: {
    seed: id,
    width: 64,
    height: 64,
    steps: 2,
    guidanceScale: 7,
    model: "demo",
    demoModel: true,
    generationSeconds: 0.1,
    filename: `img-${id}.png`,
    sampler: "Euler",
    scheduleType: "Uniform",
    infotext: `a picture\nSteps: 2, Seed: ${id}`,
    denoisingStrength: null,
    maskBlur: null,
    loras: [],
  },
  elapsedMs: 100,
  batch: id,
});

test("adds newest first, shows the newest, and keeps at most HISTORY_LIMIT images", () => {
  let state = EMPTY_HISTORY;
  for (let id = 1; id <= HISTORY_LIMIT + 2; id++) state = historyReducer(state, { type: "add", image: image(id) });
  expect(HISTORY_LIMIT).toBe(12);
  expect(state.images.map((i) => i.id)).toEqual(Array.from({ length: HISTORY_LIMIT }, (_, k) => HISTORY_LIMIT + 2 - k));
  expect(state.currentId).toBe(HISTORY_LIMIT + 2);
});

test("select shows an image still in the strip, and ignores one that left it", () => {
  let state = historyReducer(EMPTY_HISTORY, { type: "add", image: image(1) });
  state = historyReducer(state, { type: "add", image: image(2) });
  state = historyReducer(state, { type: "select", id: 1 });
  expect(state.currentId).toBe(1);
  expect(historyReducer(state, { type: "select", id: 99 })).toBe(state);
});

test("a request's images go in as one batch, first shown, and the grid lists the batch of whichever is shown", () => {
  let state = historyReducer(EMPTY_HISTORY, { type: "add", image: image(1) });
  const batch = [2, 3, 4].map((id) => ({ ...image(id), batch: 2 }));
  state = historyReducer(state, { type: "addBatch", images: batch });
  expect(state.images.map((i) => i.id)).toEqual([2, 3, 4, 1]);
  expect(state.currentId).toBe(2);
  expect(batchOf(state).map((i) => i.id)).toEqual([2, 3, 4]);
  state = historyReducer(state, { type: "select", id: 4 });
  expect(batchOf(state).map((i) => i.id)).toEqual([2, 3, 4]);
  state = historyReducer(state, { type: "select", id: 1 });
  expect(batchOf(state).map((i) => i.id)).toEqual([1]);
  expect(historyReducer(state, { type: "addBatch", images: [] })).toBe(state);
  expect(batchOf(EMPTY_HISTORY)).toEqual([]);
});
