"use client";

import { Loader2, Search, Star } from "lucide-react";
import { useEffect, useRef, useState } from "react";

import type { ApiTarget } from "@/api/client";
import type { GalleryImage } from "@/api/types";
import { Alert, AlertDescription } from "@/components/ui/alert";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { GalleryTile } from "./gallery-tile";
import { ImageViewer, type ViewerActions } from "./image-viewer";
import { useDebounced } from "./use-debounced";
import { useGallery } from "./use-gallery";

// Typing pauses this long before the api is asked: one search per word, not per key.
const SEARCH_PAUSE_MS = 300;

/**
 * The gallery: every image the api kept (GET /images), newest first, loaded as the grid scrolls; search the
 * prompts, show the starred ones only, open one full size, star it, reuse its values, delete it (after a confirm).
 */
export function GallerySection({
  target,
  onReuse,
  onSendToInit,
}: {
  target: ApiTarget;
  onReuse: (image: GalleryImage) => void;
  onSendToInit: (url: string, filename: string) => Promise<void>;
}) {
  const [search, setSearch] = useState("");
  const [starredOnly, setStarredOnly] = useState(false);
  const q = useDebounced(search, SEARCH_PAUSE_MS);
  const gallery = useGallery(target, { q, starred: starredOnly }, true);
  const [opened, setOpened] = useState<GalleryImage | null>(null);
  const [deleting, setDeleting] = useState<GalleryImage | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  // The open image as the list has it now; as it was opened once a filter drops it (unstarred in "Starred only").
  const open = opened ? (gallery.images.find((image) => image.id === opened.id) ?? opened) : null;

  const sentinel = useRef<HTMLDivElement>(null);
  const { hasMore, loadMore } = gallery;
  useEffect(() => {
    const end = sentinel.current;
    if (!end || !hasMore) return;
    // The next page is asked for as the end of the grid comes near the bottom of the window.
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && loadMore(), {
      rootMargin: "400px",
    });
    observer.observe(end);
    return () => observer.disconnect();
  }, [hasMore, loadMore]);

  const actions: ViewerActions = {
    onReuse: (image) => {
      onReuse(image);
      setOpened(null);
    },
    onStar: (image, starred) => {
      gallery.setStarred(image.id, starred);
      setOpened({ ...image, starred });
    },
    onDelete: (image) => setDeleting(image),
    onSendToInit: (url, filename) => void onSendToInit(url, filename).then(() => setOpened(null)),
  };
  const confirmDelete = async () => {
    if (!deleting) return;
    const { id } = deleting;
    setDeleting(null);
    try {
      await gallery.remove(id);
      setDeleteError(null);
      if (opened?.id === id) setOpened(null);
    } catch (error) {
      setDeleteError(error instanceof Error ? error.message : String(error));
    }
  };
  const filtered = q.trim() !== "" || starredOnly;

  return (
    <section aria-labelledby="gallery-heading" className="space-y-3">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 id="gallery-heading" className="text-sm font-medium">
          Gallery
        </h2>
        <div className="flex flex-wrap items-center gap-2">
          <div className="relative">
            <Search aria-hidden="true" className="absolute left-2 top-2.5 h-4 w-4 text-muted-foreground" />
            <Input
              type="search"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
              placeholder="Search the prompts"
              aria-label="Search the gallery's prompts"
              className="w-56 pl-8"
            />
          </div>
          <Button
            type="button"
            variant={starredOnly ? "secondary" : "outline"}
            size="sm"
            aria-pressed={starredOnly}
            onClick={() => setStarredOnly(!starredOnly)}
          >
            <Star aria-hidden="true" className={starredOnly ? "fill-current" : undefined} />
            Starred only
          </Button>
        </div>
      </div>

      {gallery.error && (
        <Alert variant="destructive" data-testid="gallery-error">
          <AlertDescription>The gallery could not be loaded: {gallery.error}</AlertDescription>
        </Alert>
      )}
      {(deleteError ?? gallery.starError) && (
        <Alert variant="destructive" data-testid="gallery-action-error">
          <AlertDescription>{deleteError ?? gallery.starError}</AlertDescription>
        </Alert>
      )}

      {gallery.loading ? (
        <p className="flex items-center gap-2 text-sm text-muted-foreground">
          <Loader2 aria-hidden="true" className="h-4 w-4 animate-spin" /> Loading the gallery…
        </p>
      ) : gallery.images.length === 0 && !gallery.error ? (
        <p className="text-sm text-muted-foreground" data-testid="gallery-empty">
          {filtered ? "No image matches." : "The images you generate are kept here, newest first."}
        </p>
      ) : (
        <ul className="grid grid-cols-[repeat(auto-fill,minmax(7rem,1fr))] gap-2" data-testid="gallery">
          {gallery.images.map((image) => (
            <GalleryTile
              key={image.id}
              target={target}
              image={image}
              onOpen={() => setOpened(image)}
              onStar={(starred) => gallery.setStarred(image.id, starred)}
              onDelete={() => setDeleting(image)}
            />
          ))}
        </ul>
      )}
      <div ref={sentinel} aria-hidden="true" />
      {hasMore && (
        <Button type="button" variant="outline" size="sm" onClick={loadMore} disabled={gallery.loadingMore}>
          {gallery.loadingMore && <Loader2 aria-hidden="true" className="animate-spin" />}
          Load more
        </Button>
      )}

      <ImageViewer target={target} image={open} onClose={() => setOpened(null)} actions={actions} />
      <AlertDialog open={deleting !== null} onOpenChange={(isOpen) => !isOpen && setDeleting(null)}>
        <AlertDialogContent>
          <AlertDialogHeader>
            <AlertDialogTitle>Delete this image?</AlertDialogTitle>
            <AlertDialogDescription>
              “{deleting?.positivePrompt}”, seed {deleting?.seed}: its file and parameters go for good.
            </AlertDialogDescription>
          </AlertDialogHeader>
          <AlertDialogFooter>
            <AlertDialogCancel>Keep it</AlertDialogCancel>
            <AlertDialogAction destructive onClick={() => void confirmDelete()} data-testid="confirm-delete">
              Delete
            </AlertDialogAction>
          </AlertDialogFooter>
        </AlertDialogContent>
      </AlertDialog>
    </section>
  );
}
