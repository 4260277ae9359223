// The generation's phases (src/features/generate/generation-reducer.ts): what each stream event and outcome does.
import { expect, test } from "@playwright/test";

import type { Problem } from "../src/api/problem";
import {
  INITIAL_GENERATION,
  announcement,
  generationReducer,
  isActive,
  type GenerationAction,
  type GenerationState,
} from "../src/features/generate/generation-reducer";

const run = (actions: GenerationAction[], from: GenerationState = INITIAL_GENERATION) =>
  actions.reduce(generationReducer, from);

// What the started and progress events say about the sampler and the images of a one-image request.
const RAN = { sampler: "Euler", scheduleType: "Uniform", count: 1 };
const FIRST = { imageIndex: 0, imageCount: 1 };
const START: GenerationAction = { type: "start", run: 1, at: 100 };
const PROBLEM: Problem = { kind: "api", status: 422, code: "invalid_value", message: "width ...", retryAt: null };

test("goes idle → sending → queued → running → done, keeping the run and its start time", () => {
  const seen: string[] = [];
  let state = INITIAL_GENERATION;
  const steps: GenerationAction[] = [
    START,
    { type: "event", run: 1, event: { type: "queued", position: 2, queueLength: 2 } },
    { type: "event", run: 1, event: { type: "queued", position: 1, queueLength: 1 } },
    {
      type: "event",
      run: 1,
      event: { type: "started", seed: 5, width: 64, height: 64, steps: 3, guidanceScale: 7, queuedSeconds: 1, ...RAN },
    },
    { type: "event", run: 1, event: { type: "progress", step: 1, steps: 3, etaSeconds: 2, preview: null, ...FIRST } },
    { type: "succeed", run: 1, elapsedMs: 1500, seed: 5 },
  ];
  for (const action of steps) {
    state = generationReducer(state, action);
    seen.push(state.phase);
  }
  expect(seen).toEqual(["sending", "queued", "queued", "running", "running", "done"]);
  expect(state).toEqual({ phase: "done", run: 1, elapsedMs: 1500, seed: 5, count: 1 });
  expect(announcement(state)).toBe("Image generated in 1.5 seconds, seed 5.");
});

test("queued says the position; started resets the steps; a preview stays until the next one", () => {
  const queued = run([START, { type: "event", run: 1, event: { type: "queued", position: 3, queueLength: 4 } }]);
  expect(queued).toEqual({ phase: "queued", run: 1, startedAt: 100, position: 3, queueLength: 4 });
  expect(announcement(queued)).toBe("Waiting: position 3 in queue.");

  const withPreview = run(
    [
      { type: "event", run: 1, event: { type: "started", seed: 1, width: 8, height: 8, steps: 10, guidanceScale: 7, queuedSeconds: 0, ...RAN } },
      { type: "event", run: 1, event: { type: "progress", step: 5, steps: 10, etaSeconds: 3, preview: "data:image/jpeg;base64,AA", ...FIRST } },
      { type: "event", run: 1, event: { type: "progress", step: 6, steps: 10, etaSeconds: 2, preview: null, ...FIRST } },
    ],
    queued,
  );
  expect(withPreview).toMatchObject({ phase: "running", step: 6, steps: 10, etaSeconds: 2, preview: "data:image/jpeg;base64,AA" });
});

test("a request for several images says which one runs, drops the last image's preview for the next, and is announced with its seeds", () => {
  const started = run([
    START,
    { type: "event", run: 1, event: { type: "started", seed: 5, width: 8, height: 8, steps: 4, guidanceScale: 7, queuedSeconds: 0, ...RAN, count: 3 } },
  ]);
  expect(started).toMatchObject({ phase: "running", step: 0, steps: 4, imageIndex: 0, imageCount: 3 });
  const first = run(
    [{ type: "event", run: 1, event: { type: "progress", step: 4, steps: 4, etaSeconds: 1, preview: "data:image/jpeg;base64,AA", imageIndex: 0, imageCount: 3 } }],
    started,
  );
  const second = run(
    [{ type: "event", run: 1, event: { type: "progress", step: 1, steps: 4, etaSeconds: 1, preview: null, imageIndex: 1, imageCount: 3 } }],
    first,
  );
  expect(second).toMatchObject({ phase: "running", step: 1, imageIndex: 1, imageCount: 3, preview: null });
  const done = run([{ type: "succeed", run: 1, elapsedMs: 2000, seed: 5, count: 3 }], second);
  expect(announcement(done)).toBe("3 images generated in 2.0 seconds, seeds 5 to 7.");
});

test("a failure keeps its problem; announcing it is left to the alert", () => {
  const failed = run([START, { type: "fail", run: 1, problem: PROBLEM }]);
  expect(failed).toEqual({ phase: "failed", run: 1, problem: PROBLEM });
  expect(isActive(failed)).toBe(false);
  expect(announcement(failed)).toBe("");
});

test("cancel ends the active run at once, and its late events and outcome change nothing", () => {
  const cancelled = run([START, { type: "cancel" }]);
  expect(cancelled).toEqual({ phase: "cancelled", run: 1 });
  expect(announcement(cancelled)).toBe("Cancelled.");
  const late = run(
    [
      { type: "event", run: 1, event: { type: "progress", step: 2, steps: 3, etaSeconds: 1, preview: null, ...FIRST } },
      { type: "succeed", run: 1, elapsedMs: 10, seed: 1 },
      { type: "fail", run: 1, problem: { kind: "cancelled" } },
    ],
    cancelled,
  );
  expect(late).toBe(cancelled);
  // Nothing to cancel when nothing runs.
  expect(generationReducer(INITIAL_GENERATION, { type: "cancel" })).toBe(INITIAL_GENERATION);
});

test("one request at a time: a start while one runs is ignored, and an earlier run's events do not touch a newer one", () => {
  const sending = run([START]);
  expect(generationReducer(sending, { type: "start", run: 2, at: 200 })).toBe(sending);

  const second = run([{ type: "cancel" }, { type: "start", run: 2, at: 200 }], sending);
  expect(second).toEqual({ phase: "sending", run: 2, startedAt: 200 });
  const stale = run(
    [
      { type: "event", run: 1, event: { type: "queued", position: 1, queueLength: 1 } },
      { type: "succeed", run: 1, elapsedMs: 10, seed: 1 },
    ],
    second,
  );
  expect(stale).toBe(second);
});

test("a new request can start after done, failed or cancelled", () => {
  for (const end of [
    run([START, { type: "succeed", run: 1, elapsedMs: 1, seed: null }]),
    run([START, { type: "fail", run: 1, problem: PROBLEM }]),
    run([START, { type: "cancel" }]),
  ]) {
    expect(generationReducer(end, { type: "start", run: 2, at: 5 })).toEqual({ phase: "sending", run: 2, startedAt: 5 });
  }
});
