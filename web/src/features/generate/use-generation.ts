// One generation at a time on POST /generateimage/stream: the reducer's phases, cancel, and the final image.
import { useCallback, useEffect, useReducer, useRef } from "react";

import { generateImageStream, type ApiTarget, type GenerateResult } from "@/api/client";
import { ProblemError, type Problem } from "@/api/problem";
import type { GenerateRequest } from "@/api/types";
import { INITIAL_GENERATION, generationReducer } from "./generation-reducer";

export type GenerateOutcome =
  | ({ kind: "image"; elapsedMs: number } & GenerateResult)
  | { kind: "problem"; problem: Problem }
  /** Cancelled, or refused because one already runs: nothing to show. */
  | { kind: "nothing" };

export function useGeneration(target: ApiTarget) {
  const [state, dispatch] = useReducer(generationReducer, INITIAL_GENERATION);
  // The running request's controller: a second Generate in the same tick sees it before React re-renders, and a
  // request whose controller is no longer here was cancelled.
  const controllerRef = useRef<AbortController | null>(null);
  const runRef = useRef(0);
  const { baseUrl, apiKey } = target;

  const generate = useCallback(
    async (request: GenerateRequest): Promise<GenerateOutcome> => {
      if (controllerRef.current) return { kind: "nothing" };
      const controller = new AbortController();
      controllerRef.current = controller;
      const run = ++runRef.current;
      const startedAt = performance.now();
      dispatch({ type: "start", run, at: startedAt });
      try {
        const result = await generateImageStream(
          { baseUrl, apiKey },
          request,
          (event) => dispatch({ type: "event", run, event }),
          controller.signal,
        );
        if (controllerRef.current !== controller) return { kind: "nothing" }; // cancelled as the image arrived
        const elapsedMs = performance.now() - startedAt;
        dispatch({ type: "succeed", run, elapsedMs, seed: result.info.seed, count: result.images.length });
        return { kind: "image", elapsedMs, ...result };
      } catch (error) {
        if (controllerRef.current !== controller) return { kind: "nothing" }; // cancel() has said so already
        const problem: Problem =
          error instanceof ProblemError ? error.problem : { kind: "bad-stream", message: String(error) };
        dispatch({ type: "fail", run, problem });
        return { kind: "problem", problem };
      } finally {
        if (controllerRef.current === controller) controllerRef.current = null;
      }
    },
    [baseUrl, apiKey],
  );

  // Closing the connection cancels the job on the worker (issue 4); the page does not wait for the fetch to unwind.
  const cancel = useCallback(() => {
    const controller = controllerRef.current;
    if (!controller) return;
    controllerRef.current = null;
    dispatch({ type: "cancel" });
    controller.abort();
  }, []);

  useEffect(() => () => controllerRef.current?.abort(), []);

  return { state, generate, cancel };
}
