// The images made since the page opened, newest first, at most HISTORY_LIMIT, and which one is shown. A request
// for several images adds each of them, in seed order, as one batch.
import type { GenerationInfo } from "@/api/stream-events";
import type { FormValues } from "@/features/generate/form-values";

// Each entry holds a PNG in memory through its blob: URL; past this many the oldest leave (and are revoked).
export const HISTORY_LIMIT = 12;

/** One image made since the page opened: its blob: URL lives exactly as long as this entry (see use-history.ts). */
export interface GeneratedImage {
  id: number;
  url: string;
  sizeBytes: number;
  values: FormValues;
  /** What made this image: its own seed, file name and infotext (an image of a batch has seed+1, ...). */
  info: GenerationInfo;
  elapsedMs: number;
  /** The id of the first image of the request that made it: the images of one request share it. */
  batch: number;
}

export interface HistoryState {
  images: readonly GeneratedImage[];
  currentId: number | null;
}

export type HistoryAction =
  | { type: "add"; image: GeneratedImage }
  /** One request's images, first first; the first is shown. */
  | { type: "addBatch"; images: readonly GeneratedImage[] }
  | { type: "select"; id: number };

export const EMPTY_HISTORY: HistoryState = { images: [], currentId: null };

export function historyReducer(state: HistoryState, action: HistoryAction): HistoryState {
  switch (action.type) {
    case "add":
      return historyReducer(state, { type: "addBatch", images: [action.image] });
    case "addBatch":
      if (action.images.length === 0) return state;
      return { images: [...action.images, ...state.images].slice(0, HISTORY_LIMIT), currentId: action.images[0].id };
    case "select":
      return state.images.some((image) => image.id === action.id) ? { ...state, currentId: action.id } : state;
  }
}

/** The images of the shown image's request still in the strip, in seed order: the results grid. */
export function batchOf(state: HistoryState): GeneratedImage[] {
  const current = state.images.find((image) => image.id === state.currentId);
  if (!current) return [];
  return state.images.filter((image) => image.batch === current.batch).sort((a, b) => a.id - b.id);
}
