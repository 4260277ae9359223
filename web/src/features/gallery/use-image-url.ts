// A gallery image's thumbnail or file as a blob: URL: fetched with the page's API key (an <img src> cannot send
// it), cached by react-query while shown, and let go when no one shows it any more.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import type { ApiTarget } from "@/api/client";
import { fetchImageBytes } from "@/api/gallery";

/** A blob: URL for `path` (an image's fileUrl or thumbnailUrl), null until its bytes are here or when they fail. */
export function useImageUrl(target: ApiTarget, path: string | null): { url: string | null; failed: boolean } {
  const { baseUrl, apiKey } = target;
  const query = useQuery({
    queryKey: ["gallery-bytes", baseUrl, apiKey ?? null, path],
    queryFn: ({ signal }) => fetchImageBytes({ baseUrl, apiKey }, path as string, signal),
    enabled: path !== null,
    // The bytes under one URL never change (content-addressed, immutable).
    staleTime: Infinity,
    gcTime: 60_000,
    retry: 1,
  });
  const blob = query.data ?? null;
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (blob === null) {
      setUrl(null);
      return;
    }
    // One URL per component that shows the blob, revoked when it stops showing it.
    const made = URL.createObjectURL(blob);
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [blob]);
  return { url, failed: query.isError };
}
