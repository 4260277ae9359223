// GET /loras through react-query, asked once the api is ready; Refresh (use-models.ts) asks again.
import { useQuery } from "@tanstack/react-query";

import type { ApiTarget } from "@/api/client";
import { fetchLoras } from "@/api/library";
import type { LibraryLora } from "@/api/types";
import { lorasKey } from "@/features/models/use-models";

export interface LorasState {
  /** Undefined until the api has answered; [] when models/loras/ holds none. */
  loras: LibraryLora[] | undefined;
  failed: boolean;
}

export function useLoras(target: ApiTarget, enabled: boolean): LorasState {
  const { baseUrl, apiKey } = target;
  const query = useQuery({
    queryKey: lorasKey({ baseUrl, apiKey }),
    queryFn: ({ signal }) => fetchLoras({ baseUrl, apiKey }, signal),
    enabled,
    retry: 2,
  });
  return { loras: query.data, failed: query.status === "error" };
}

/** Whether GET /loras lists `name`; undefined while the list is not known (nothing is marked unknown then). */
export function isKnownLora(loras: readonly LibraryLora[] | undefined, name: string): boolean | undefined {
  return loras === undefined ? undefined : loras.some((lora) => lora.name === name);
}
