"use client";

import { Download, ImagePlus, Sprout } from "lucide-react";

import { Button } from "@/components/ui/button";
import type { GeneratedImage } from "@/features/history/history-reducer";
import { cn } from "@/lib/utils";

interface ResultsGridProps {
  /** The images of one request, in seed order. */
  images: readonly GeneratedImage[];
  currentId: number | null;
  /** Shows the image large, with its details. */
  onSelect: (image: GeneratedImage) => void;
  /** Puts the image's seed in the seed field, for one image: Generate then makes that one again. */
  onUseSeed: (seed: number) => void;
  /** Makes the image the init image of image to image. */
  onSendToInit: (image: GeneratedImage) => void;
}

/** A request's images side by side, each with its seed, Download under the api's name and "Use this seed". */
export function ResultsGrid({ images, currentId, onSelect, onUseSeed, onSendToInit }: ResultsGridProps) {
  return (
    <section aria-labelledby="results-heading" className="space-y-2">
      <h2 id="results-heading" className="text-sm font-medium">
        This request&apos;s {images.length} images
      </h2>
      <ul data-testid="results-grid" className="grid grid-cols-2 gap-3 sm:grid-cols-3">
        {images.map((image) => {
          const { seed, filename } = image.info;
          const current = image.id === currentId;
          return (
            <li key={image.id} data-testid="grid-item" data-seed={seed ?? ""} className="space-y-1.5">
              <button
                type="button"
                onClick={() => onSelect(image)}
                aria-label={`Show the image with seed ${seed ?? "unknown"}`}
                aria-current={current ? "true" : undefined}
                className={cn(
                  "block aspect-square w-full overflow-hidden rounded-md border-2 bg-muted focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring",
                  current ? "border-primary" : "border-transparent",
                )}
              >
                {/* eslint-disable-next-line @next/next/no-img-element */}
                <img src={image.url} alt="" className="h-full w-full object-contain" />
              </button>
              <p className="text-xs text-muted-foreground">
                Seed{" "}
                <span data-testid="grid-seed" className="font-mono text-foreground">
                  {seed ?? "unknown"}
                </span>
              </p>
              <div className="flex flex-wrap gap-1">
                <Button asChild variant="secondary" size="sm" className="h-7 px-2">
                  <a href={image.url} download={filename ?? ""} data-testid="grid-download" aria-label={`Download ${filename ?? "the image"}`}>
                    <Download aria-hidden="true" />
                    Download
                  </a>
                </Button>
                <Button
                  type="button"
                  variant="outline"
                  size="sm"
                  className="h-7 px-2"
                  onClick={() => onSendToInit(image)}
                  aria-label={`Send the image with seed ${seed ?? "unknown"} to image to image`}
                  data-testid="grid-send-to-img2img"
                >
                  <ImagePlus aria-hidden="true" />
                  To image to image
                </Button>
                {seed !== null && (
                  <Button
                    type="button"
                    variant="outline"
                    size="sm"
                    className="h-7 px-2"
                    onClick={() => onUseSeed(seed)}
                    aria-label={`Use this seed (${seed})`}
                    data-testid="use-seed"
                  >
                    <Sprout aria-hidden="true" />
                    Use this seed
                  </Button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
