// GET /models through react-query, asked once the api is ready, and Refresh (POST /models/refresh), after which
// the models and the LoRAs are asked again: a scan finds both.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";

import type { ApiTarget } from "@/api/client";
import { fetchModels, refreshModels } from "@/api/library";
import { ProblemError, describeProblem } from "@/api/problem";
import type { LibraryModel } from "@/api/types";

export interface ModelsState {
  /** Undefined until the api has answered. */
  models: LibraryModel[] | undefined;
  /** What requests without `model` get; undefined while unknown. */
  defaultModel: LibraryModel | undefined;
  failed: boolean;
  refresh: () => void;
  refreshing: boolean;
  /** Why the last Refresh failed, in the page's words; null when it did not. */
  refreshError: string | null;
}

export const modelsKey = (target: ApiTarget) => ["models", target.baseUrl, target.apiKey ?? null] as const;
export const lorasKey = (target: ApiTarget) => ["loras", target.baseUrl, target.apiKey ?? null] as const;

function message(error: unknown): string {
  return error instanceof ProblemError ? describeProblem(error.problem).message : String(error);
}

export function useModels(target: ApiTarget, enabled: boolean): ModelsState {
  const { baseUrl, apiKey } = target;
  const client = useQueryClient();
  const query = useQuery({
    queryKey: modelsKey({ baseUrl, apiKey }),
    queryFn: ({ signal }) => fetchModels({ baseUrl, apiKey }, signal),
    enabled,
    retry: 2,
  });
  const mutation = useMutation({
    mutationFn: () => refreshModels({ baseUrl, apiKey }),
    onSettled: () =>
      Promise.all([
        client.invalidateQueries({ queryKey: modelsKey({ baseUrl, apiKey }) }),
        client.invalidateQueries({ queryKey: lorasKey({ baseUrl, apiKey }) }),
      ]),
  });
  const { mutate } = mutation;
  const refresh = useCallback(() => mutate(), [mutate]);
  const models = query.data;
  return {
    models,
    defaultModel: models?.find((m) => m.default),
    failed: query.status === "error",
    refresh,
    refreshing: mutation.isPending || (query.isFetching && query.data !== undefined),
    refreshError: mutation.isError ? message(mutation.error) : null,
  };
}
