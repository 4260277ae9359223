"use client";

import { Download, ImagePlus, Loader2, RotateCcw, Star, Trash2 } from "lucide-react";

import type { ApiTarget } from "@/api/client";
import type { GalleryImage } from "@/api/types";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { CopyParametersButton } from "@/features/preview/copy-parameters-button";
import { ParameterList } from "@/features/preview/parameter-list";
import { galleryInfo } from "./gallery-values";
import { useImageUrl } from "./use-image-url";

export interface ViewerActions {
  /** Fill the form with the image's values (prompts, size, seed, sampler, model, LoRAs). */
  onReuse: (image: GalleryImage) => void;
  onStar: (image: GalleryImage, starred: boolean) => void;
  /** Ask to delete it (the gallery confirms first). */
  onDelete: (image: GalleryImage) => void;
  /** Make it image to image's init image. */
  onSendToInit: (url: string, filename: string) => void;
}

/** One gallery image full size, with its prompts and parameters, and what can be done with it. */
export function ImageViewer({
  target,
  image,
  onClose,
  actions,
}: {
  target: ApiTarget;
  image: GalleryImage | null;
  onClose: () => void;
  actions: ViewerActions;
}) {
  return (
    <Dialog open={image !== null} onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="max-w-5xl" data-testid="image-viewer">
        {image && <ViewerBody target={target} image={image} actions={actions} />}
      </DialogContent>
    </Dialog>
  );
}

function ViewerBody({ target, image, actions }: { target: ApiTarget; image: GalleryImage; actions: ViewerActions }) {
  const { url, failed } = useImageUrl(target, image.fileUrl);
  const created = new Date(image.createdAt);
  return (
    <>
      <DialogHeader>
        <DialogTitle className="pr-6 leading-snug" data-testid="viewer-prompt">
          {image.positivePrompt || "(no prompt)"}
        </DialogTitle>
        <DialogDescription>
          {image.negativePrompt ? `Negative: ${image.negativePrompt} · ` : ""}
          <time dateTime={image.createdAt}>{created.toLocaleString()}</time>
        </DialogDescription>
      </DialogHeader>
      <div className="grid gap-4 md:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
        <div className="flex min-h-48 items-center justify-center overflow-hidden rounded-md border bg-muted">
          {url ? (
            // A blob: URL of the file as the api answered it (fetched with the page's key).
            // eslint-disable-next-line @next/next/no-img-element
            <img
              src={url}
              alt={`Image for “${image.positivePrompt}”, seed ${image.seed}`}
              data-testid="viewer-image"
              className="max-h-[70vh] w-full object-contain"
            />
          ) : failed ? (
            <p className="p-4 text-sm text-destructive">The image could not be loaded.</p>
          ) : (
            <Loader2 aria-label="Loading the image" className="h-8 w-8 animate-spin text-muted-foreground" />
          )}
        </div>
        <div className="space-y-4">
          <ParameterList
            info={galleryInfo(image)}
            elapsedMs={image.totalSeconds * 1000}
            label="Parameters of the gallery image"
          />
          <div className="flex flex-wrap gap-2">
            <Button type="button" onClick={() => actions.onReuse(image)} data-testid="viewer-reuse">
              <RotateCcw aria-hidden="true" />
              Reuse
            </Button>
            <Button
              type="button"
              variant="outline"
              aria-pressed={image.starred}
              onClick={() => actions.onStar(image, !image.starred)}
              data-testid="viewer-star"
            >
              <Star aria-hidden="true" className={image.starred ? "fill-current" : undefined} />
              {image.starred ? "Starred" : "Star"}
            </Button>
            <Button asChild variant="secondary">
              <a href={url ?? undefined} download={image.filename} aria-disabled={url === null} data-testid="viewer-download">
                <Download aria-hidden="true" />
                Download
              </a>
            </Button>
            <Button
              type="button"
              variant="outline"
              disabled={url === null}
              onClick={() => url && actions.onSendToInit(url, image.filename)}
            >
              <ImagePlus aria-hidden="true" />
              Send to image to image
            </Button>
            {image.infotext && <CopyParametersButton key={image.id} infotext={image.infotext} />}
            <Button type="button" variant="destructive" onClick={() => actions.onDelete(image)} data-testid="viewer-delete">
              <Trash2 aria-hidden="true" />
              Delete
            </Button>
          </div>
        </div>
      </div>
    </>
  );
}
