// The gallery through react-query: pages of GET /images as one list (newest first) for the search and filter in
// force, more as the grid scrolls, star and delete applied to every cached list at once, and a refresh when the
// page has made new images.
import { useInfiniteQuery, useMutation, useQueryClient, type InfiniteData, type QueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";

import type { ApiTarget } from "@/api/client";
import { deleteImage, fetchGalleryPage, setStarred } from "@/api/gallery";
import { ProblemError, describeProblem } from "@/api/problem";
import type { GalleryImage, GalleryPage } from "@/api/types";

export const galleryKey = (target: ApiTarget) => ["gallery", target.baseUrl, target.apiKey ?? null] as const;

type Pages = InfiniteData<GalleryPage, string | null>;

/** Every cached list of this gallery (each search and filter has its own), with `change` made to each image. */
function updateCached(client: QueryClient, target: ApiTarget, change: (images: GalleryImage[]) => GalleryImage[]) {
  client.setQueriesData<Pages>({ queryKey: galleryKey(target) }, (data) =>
    data ? { ...data, pages: data.pages.map((page) => ({ ...page, images: change(page.images) })) } : data,
  );
}

function message(error: unknown): string {
  return error instanceof ProblemError ? describeProblem(error.problem).message : String(error);
}

export interface GalleryFilter {
  q: string;
  starred: boolean;
}

export function useGallery(target: ApiTarget, filter: GalleryFilter, enabled: boolean) {
  const { baseUrl, apiKey } = target;
  const client = useQueryClient();
  const query = useInfiniteQuery({
    queryKey: [...galleryKey({ baseUrl, apiKey }), filter.q.trim(), filter.starred],
    queryFn: ({ pageParam, signal }) =>
      fetchGalleryPage({ baseUrl, apiKey }, { q: filter.q, starred: filter.starred, cursor: pageParam }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
    enabled,
  });
  const images = useMemo(() => {
    // A page boundary may move while images are added: the same image twice would be two tiles of one key.
    const seen = new Set<string>();
    return (query.data?.pages ?? []).flatMap((page) => page.images).filter((image) => !seen.has(image.id) && !!seen.add(image.id));
  }, [query.data]);

  const star = useMutation({
    mutationFn: ({ id, starred }: { id: string; starred: boolean }) => setStarred({ baseUrl, apiKey }, id, starred),
    // Shown at once; put back if the api refuses.
    onMutate: ({ id, starred }) =>
      updateCached(client, { baseUrl, apiKey }, (list) => list.map((i) => (i.id === id ? { ...i, starred } : i))),
    onError: (_error, { id, starred }) =>
      updateCached(client, { baseUrl, apiKey }, (list) => list.map((i) => (i.id === id ? { ...i, starred: !starred } : i))),
    // The starred-only list gains or loses it.
    onSettled: () => client.invalidateQueries({ queryKey: galleryKey({ baseUrl, apiKey }) }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => deleteImage({ baseUrl, apiKey }, id),
    onSuccess: (_nothing, id) => updateCached(client, { baseUrl, apiKey }, (list) => list.filter((i) => i.id !== id)),
  });

  const { fetchNextPage, hasNextPage, isFetchingNextPage } = query;
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [fetchNextPage, hasNextPage, isFetchingNextPage]);
  const { mutate: starMutate } = star;
  const { mutateAsync: removeAsync } = remove;
  return {
    images,
    loading: query.isPending && enabled,
    error: query.isError ? message(query.error) : null,
    hasMore: !!hasNextPage,
    loadingMore: isFetchingNextPage,
    loadMore,
    setStarred: useCallback((id: string, starred: boolean) => starMutate({ id, starred }), [starMutate]),
    starError: star.isError ? message(star.error) : null,
    /** Resolves once the api has deleted it; rejects with the reason, in the page's words. */
    remove: useCallback((id: string) => removeAsync(id).catch((error: unknown) => Promise.reject(new Error(message(error)))), [removeAsync]),
  };
}

/** Ask every list of this gallery again (after the page made images, which the api has kept). */
export function useGalleryRefresh(target: ApiTarget) {
  const client = useQueryClient();
  const { baseUrl, apiKey } = target;
  return useCallback(() => void client.invalidateQueries({ queryKey: galleryKey({ baseUrl, apiKey }) }), [client, baseUrl, apiKey]);
}
