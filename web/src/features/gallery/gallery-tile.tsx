"use client";

import { ImageOff, Star, Trash2 } from "lucide-react";

import type { ApiTarget } from "@/api/client";
import type { GalleryImage } from "@/api/types";
import { cn } from "@/lib/utils";
import { describeImage } from "./gallery-values";
import { useImageUrl } from "./use-image-url";

/** One image of the gallery's grid: its thumbnail (opens it), a star toggle, and delete. */
export function GalleryTile({
  target,
  image,
  onOpen,
  onStar,
  onDelete,
}: {
  target: ApiTarget;
  image: GalleryImage;
  onOpen: () => void;
  onStar: (starred: boolean) => void;
  onDelete: () => void;
}) {
  const { url, failed } = useImageUrl(target, image.thumbnailUrl);
  const described = describeImage(image);
  const icon = "absolute flex h-7 w-7 items-center justify-center rounded-full bg-background/80 shadow transition";
  return (
    <li className="group relative aspect-square" data-testid="gallery-tile" data-id={image.id}>
      <button
        type="button"
        onClick={onOpen}
        aria-label={`Open image: ${described}`}
        title={described}
        data-testid="gallery-item"
        data-seed={image.seed}
        className="block h-full w-full overflow-hidden rounded-md border bg-muted focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring focus-visible:ring-offset-2"
      >
        {url ? (
          // A blob: URL of the api's 256-pixel WebP thumbnail: the grid never loads the full images.
          // eslint-disable-next-line @next/next/no-img-element
          <img src={url} alt="" className="h-full w-full object-cover" />
        ) : (
          failed && <ImageOff aria-hidden="true" className="m-auto h-6 w-6 text-muted-foreground" />
        )}
      </button>
      <button
        type="button"
        onClick={() => onStar(!image.starred)}
        aria-pressed={image.starred}
        aria-label={`${image.starred ? "Unstar" : "Star"} image: ${described}`}
        data-testid="gallery-star"
        className={cn(
          icon,
          "left-1 top-1 focus-visible:opacity-100",
          image.starred ? "text-warning opacity-100" : "opacity-0 group-hover:opacity-100",
        )}
      >
        <Star aria-hidden="true" className={cn("h-4 w-4", image.starred && "fill-current")} />
      </button>
      <button
        type="button"
        onClick={onDelete}
        aria-label={`Delete image: ${described}`}
        data-testid="gallery-delete"
        className={cn(icon, "right-1 top-1 text-destructive opacity-0 focus-visible:opacity-100 group-hover:opacity-100")}
      >
        <Trash2 aria-hidden="true" className="h-4 w-4" />
      </button>
    </li>
  );
}
