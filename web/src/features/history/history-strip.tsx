"use client";

import { cn } from "@/lib/utils";
import type { GeneratedImage } from "./history-reducer";

interface HistoryStripProps {
  images: readonly GeneratedImage[];
  currentId: number | null;
  onSelect: (image: GeneratedImage) => void;
}

/** The images made since the page opened, newest first; choosing one shows it again with its parameters. */
export function HistoryStrip({ images, currentId, onSelect }: HistoryStripProps) {
  return (
    <section aria-labelledby="history-heading" className="space-y-2">
      <h2 id="history-heading" className="text-sm font-medium">
        History <span className="text-muted-foreground">({images.length})</span>
      </h2>
      {images.length === 0 ? (
        <p className="text-sm text-muted-foreground">The images you generate appear here, newest first.</p>
      ) : (
        <ul className="flex gap-2 overflow-x-auto pb-2" data-testid="history">
          {images.map((image) => {
            const current = image.id === currentId;
            const label =
              `Show image ${image.id}: seed ${image.info.seed ?? "unknown"}, ` +
              `${image.info.width ?? "?"} × ${image.info.height ?? "?"}, “${image.values.positivePrompt}”`;
            return (
              <li key={image.id} className="shrink-0">
                <button
                  type="button"
                  onClick={() => onSelect(image)}
                  aria-label={label}
                  aria-current={current ? "true" : undefined}
                  title={label}
                  data-testid="history-item"
                  data-seed={image.info.seed ?? ""}
                  className={cn(
                    "block h-20 w-20 overflow-hidden rounded-md border-2 bg-muted transition focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring focus-visible:ring-offset-2",
                    current ? "border-primary" : "border-transparent opacity-80 hover:opacity-100",
                  )}
                >
                  {/* eslint-disable-next-line @next/next/no-img-element */}
                  <img src={image.url} alt="" className="h-full w-full object-cover" />
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
