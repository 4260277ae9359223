// GET /ready through react-query: on load, then every few seconds until it answers 200 (the worker may still be
// warming up), and again whenever the page asks (a failed Generate), so the header clears once the api is back.
import { useQuery } from "@tanstack/react-query";
import { useCallback } from "react";

import { fetchReady, type ApiTarget } from "@/api/client";
import { ProblemError, type Problem } from "@/api/problem";
import type { ModelDefaults, ReadyInfo } from "@/api/types";

const RETRY_MS = 3000;

export type ReadyState =
  | { state: "checking" }
  | { state: "ready"; info: ReadyInfo }
  | { state: "not-ready"; problem: Problem };

function asProblem(error: unknown, baseUrl: string): Problem {
  if (error instanceof ProblemError) return error.problem;
  return { kind: "unreachable", url: baseUrl, detail: String(error) };
}

export function useReady(target: ApiTarget) {
  const { baseUrl, apiKey } = target;
  const query = useQuery({
    queryKey: ["ready", baseUrl, apiKey ?? null],
    queryFn: ({ signal }) => fetchReady({ baseUrl, apiKey }, signal),
    retry: false,
    refetchInterval: (q) => (q.state.status === "success" ? false : RETRY_MS),
    refetchIntervalInBackground: true,
  });
  const { refetch } = query;
  const recheck = useCallback(() => void refetch(), [refetch]);

  let ready: ReadyState;
  if (query.status === "error") ready = { state: "not-ready", problem: asProblem(query.error, baseUrl) };
  else if (query.status === "success") ready = { state: "ready", info: query.data };
  else ready = { state: "checking" };
  // react-query keeps the last answer's data through later failures: the defaults stay known once told.
  const defaults: ModelDefaults | undefined = query.data?.defaults;
  /** The most images one request may ask for on every serving worker. */
  const maxCount: number | undefined = query.data?.maxCount;
  /** Whether the api keeps what it answers (GET /images); undefined until it has said. */
  const gallery: boolean | undefined = query.data?.gallery;
  return { ready, defaults, maxCount, gallery, recheck };
}
