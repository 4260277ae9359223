// The phases of one generation (issue 4), as a pure reducer: idle → sending → queued → running → done, or failed,
// or cancelled. Events of a run that is no longer the active one (cancelled, superseded) change nothing.
import type { Problem } from "@/api/problem";
import type { StreamEvent } from "@/api/stream-events";

interface Active {
  /** Which request this is; actions name it, so a late event of an earlier one is ignored. */
  run: number;
  /** performance.now() when it was sent, for the elapsed-time clock. */
  startedAt: number;
}

export type GenerationState =
  | { phase: "idle" }
  | ({ phase: "sending" } & Active)
  | ({ phase: "queued"; position: number; queueLength: number | null } & Active)
  | ({
      phase: "running";
      step: number;
      steps: number | null;
      etaSeconds: number | null;
      /** Which of the request's images the steps are of (from 0), and how many it makes. */
      imageIndex: number;
      imageCount: number;
      /** The worker's latest low-res look at the picture forming (a data: URL), kept until the next one. */
      preview: string | null;
    } & Active)
  | { phase: "done"; run: number; elapsedMs: number; seed: number | null; count: number }
  | { phase: "failed"; run: number; problem: Problem }
  | { phase: "cancelled"; run: number };

export type ActiveGeneration = Extract<GenerationState, { phase: "sending" | "queued" | "running" }>;

export type GenerationAction =
  | { type: "start"; run: number; at: number }
  | { type: "event"; run: number; event: StreamEvent }
  /** `seed` is the first image's; `count` how many came (1 when not said). */
  | { type: "succeed"; run: number; elapsedMs: number; seed: number | null; count?: number }
  | { type: "fail"; run: number; problem: Problem }
  | { type: "cancel" };

export const INITIAL_GENERATION: GenerationState = { phase: "idle" };

export function isActive(state: GenerationState): state is ActiveGeneration {
  return state.phase === "sending" || state.phase === "queued" || state.phase === "running";
}

function onEvent(state: ActiveGeneration, event: StreamEvent): GenerationState {
  const active = { run: state.run, startedAt: state.startedAt };
  switch (event.type) {
    case "queued":
      return { phase: "queued", ...active, position: event.position, queueLength: event.queueLength };
    case "started": {
      const imageCount = event.count ?? 1;
      return { phase: "running", ...active, step: 0, steps: event.steps, etaSeconds: null, imageIndex: 0, imageCount, preview: null };
    }
    case "progress": {
      const running = state.phase === "running" ? state : null;
      // A preview stays until the next one, but not across images: the next picture starts from noise again.
      const sameImage = running?.imageIndex === event.imageIndex;
      const preview = event.preview ?? (sameImage ? running.preview : null);
      const { step, steps, etaSeconds, imageIndex, imageCount } = event;
      return { phase: "running", ...active, step, steps, etaSeconds, imageIndex, imageCount, preview };
    }
  }
}

export function generationReducer(state: GenerationState, action: GenerationAction): GenerationState {
  if (action.type === "start") {
    // One request at a time: a start while one runs is ignored (the hook refuses it before it gets here).
    return isActive(state) ? state : { phase: "sending", run: action.run, startedAt: action.at };
  }
  if (!isActive(state)) return state;
  if (action.type === "cancel") return { phase: "cancelled", run: state.run };
  if (action.run !== state.run) return state;
  switch (action.type) {
    case "event":
      return onEvent(state, action.event);
    case "succeed":
      return { phase: "done", run: state.run, elapsedMs: action.elapsedMs, seed: action.seed, count: action.count ?? 1 };
    case "fail":
      return { phase: "failed", run: state.run, problem: action.problem };
  }
}

/** What a screen reader hears for each phase (a polite live region). */
export function announcement(state: GenerationState): string {
  switch (state.phase) {
    case "sending":
    case "running":
      return "Generating the image…";
    case "queued":
      return `Waiting: position ${state.position} in queue.`;
    case "done": {
      const seconds = (state.elapsedMs / 1000).toFixed(1);
      if (state.count > 1 && state.seed !== null) {
        return `${state.count} images generated in ${seconds} seconds, seeds ${state.seed} to ${state.seed + state.count - 1}.`;
      }
      return `Image generated in ${seconds} seconds, seed ${state.seed ?? "unknown"}.`;
    }
    case "cancelled":
      return "Cancelled.";
    default:
      // A failure is said by its alert (role="alert").
      return "";
  }
}
