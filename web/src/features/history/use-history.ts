// The history strip's state, and the owner of its blob: URLs.
import { useCallback, useEffect, useReducer, useRef } from "react";

import { EMPTY_HISTORY, batchOf, historyReducer, type GeneratedImage } from "./history-reducer";

export type NewImage = Omit<GeneratedImage, "id" | "url" | "sizeBytes" | "batch"> & { blob: Blob };

/**
 * Each image's blob: URL is made when it is added and revoked when it leaves the strip (past HISTORY_LIMIT) or the
 * page goes away, never on a re-render, so the <img> and Download keep working while it is shown.
 */
export function useHistory() {
  const [state, dispatch] = useReducer(historyReducer, EMPTY_HISTORY);
  // The URLs made here and not yet revoked, by entry id: the reducer stays pure, this is where they are let go.
  const urls = useRef(new Map<number, string>());
  const nextId = useRef(1);

  /** One request's images, in seed order: each gets its entry (and blob: URL); the first is shown. */
  const add = useCallback((images: readonly NewImage[]) => {
    const batch = nextId.current;
    const entries = images.map(({ blob, ...rest }) => {
      const id = nextId.current++;
      const url = URL.createObjectURL(blob);
      urls.current.set(id, url);
      return { ...rest, id, url, sizeBytes: blob.size, batch };
    });
    dispatch({ type: "addBatch", images: entries });
  }, []);

  const select = useCallback((id: number) => dispatch({ type: "select", id }), []);

  useEffect(() => {
    const kept = new Set(state.images.map((image) => image.id));
    for (const [id, url] of urls.current) {
      if (kept.has(id)) continue;
      URL.revokeObjectURL(url);
      urls.current.delete(id);
    }
  }, [state.images]);

  useEffect(() => {
    const owned = urls.current;
    return () => {
      for (const url of owned.values()) URL.revokeObjectURL(url);
      owned.clear();
    };
  }, []);

  const current = state.images.find((image) => image.id === state.currentId) ?? null;
  return { images: state.images, currentId: state.currentId, current, batch: batchOf(state), add, select };
}
