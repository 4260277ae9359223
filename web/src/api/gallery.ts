// The gallery's calls (issue 15): GET /images (a page, searched, starred only), an image's thumbnail and file as
// bytes (so the page's API key goes with them: an <img src> could not send it), PATCH (star) and DELETE.
import { send, type ApiTarget } from "./client";
import { ProblemError, problemFromResponse } from "./problem";
import type { GalleryImage, GalleryPage } from "./types";

/** What one GET /images asks for: the search, the starred filter, and where the page starts. */
export interface GalleryQuery {
  q: string;
  starred: boolean;
  cursor: string | null;
}

/** How many images one page asks for: a few rows of the grid. */
export const GALLERY_PAGE_SIZE = 30;

async function ok(response: Response): Promise<Response> {
  if (!response.ok) throw new ProblemError(await problemFromResponse(response));
  return response;
}

/** GET /images: newest first; `q` searches both prompts, `starred` keeps the starred ones only. */
export async function fetchGalleryPage(target: ApiTarget, query: GalleryQuery, signal?: AbortSignal): Promise<GalleryPage> {
  const params = new URLSearchParams({ limit: String(GALLERY_PAGE_SIZE) });
  if (query.q.trim() !== "") params.set("q", query.q.trim());
  if (query.starred) params.set("starred", "true");
  if (query.cursor !== null) params.set("cursor", query.cursor);
  const response = await ok(await send(target, `/images?${params}`, { signal, cache: "no-store" }));
  const body = (await response.json()) as Partial<GalleryPage> | null;
  if (!body || !Array.isArray(body.images)) throw new ProblemError({ kind: "bad-stream", message: "GET /images is not a page." });
  return { images: body.images, next: typeof body.next === "string" ? body.next : null };
}

/** An image's bytes from one of its URLs (`fileUrl`, `thumbnailUrl`); the browser's cache keeps them (immutable). */
export async function fetchImageBytes(target: ApiTarget, path: string, signal?: AbortSignal): Promise<Blob> {
  return (await ok(await send(target, path, { signal }))).blob();
}

/** PATCH /images/{id}: star or unstar; the image as it is now. */
export async function setStarred(target: ApiTarget, id: string, starred: boolean): Promise<GalleryImage> {
  const init = { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ starred }) };
  return (await (await ok(await send(target, `/images/${encodeURIComponent(id)}`, init))).json()) as GalleryImage;
}

/** DELETE /images/{id}: the row and its file. */
export async function deleteImage(target: ApiTarget, id: string): Promise<void> {
  await ok(await send(target, `/images/${encodeURIComponent(id)}`, { method: "DELETE" }));
}
