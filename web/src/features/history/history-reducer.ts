// The images made since the page opened, newest first, at most HISTORY_LIMIT, and which one is shown.
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
  info: GenerationInfo;
  elapsedMs: number;
}

export interface HistoryState {
  images: readonly GeneratedImage[];
  currentId: number | null;
}

export type HistoryAction = { type: "add"; image: GeneratedImage } | { type: "select"; id: number };

export const EMPTY_HISTORY: HistoryState = { images: [], currentId: null };

export function historyReducer(state: HistoryState, action: HistoryAction): HistoryState {
  switch (action.type) {
    case "add":
      return { images: [action.image, ...state.images].slice(0, HISTORY_LIMIT), currentId: action.image.id };
    case "select":
      return state.images.some((image) => image.id === action.id) ? { ...state, currentId: action.id } : state;
  }
}
