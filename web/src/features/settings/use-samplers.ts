// GET /samplers through react-query: the samplers a request may name, asked once the api is ready and kept.
import { useQuery } from "@tanstack/react-query";

import { fetchSamplers, type ApiTarget } from "@/api/client";
import type { SamplerInfo } from "@/api/types";

export interface SamplersState {
  /** Undefined until the api has answered. */
  samplers: SamplerInfo[] | undefined;
  failed: boolean;
}

export function useSamplers(target: ApiTarget, enabled: boolean): SamplersState {
  const { baseUrl, apiKey } = target;
  const query = useQuery({
    queryKey: ["samplers", baseUrl, apiKey ?? null],
    queryFn: ({ signal }) => fetchSamplers({ baseUrl, apiKey }, signal),
    enabled,
    // The list is the api's code, not its state: it changes only with a new api.
    staleTime: Infinity,
    retry: 2,
  });
  return { samplers: query.data, failed: query.status === "error" };
}
