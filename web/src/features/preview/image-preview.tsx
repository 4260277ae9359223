"use client";

import { ImageIcon, Loader2 } from "lucide-react";

import { AspectRatio } from "@/components/ui/aspect-ratio";
import type { ActiveGeneration } from "@/features/generate/generation-reducer";
import type { GeneratedImage } from "@/features/history/history-reducer";
import { GenerationProgress } from "./generation-progress";
import { ImageDetails } from "./image-details";
import { seconds } from "./parameter-list";

interface ImagePreviewProps {
  ratio: number;
  requestedSize: string;
  image: GeneratedImage | null;
  /** The running request, null when none runs. */
  live: ActiveGeneration | null;
  elapsedMs: number;
  onReuseSeed: (seed: number) => void;
  /** "Send to image to image": the shown image becomes the init image. */
  onSendToInit: (image: GeneratedImage) => void;
}

export function ImagePreview({ ratio, requestedSize, image, live, elapsedMs, onReuseSeed, onSendToInit }: ImagePreviewProps) {
  const livePreview = live?.phase === "running" ? live.preview : null;
  return (
    <div className="space-y-4">
      {/* Wide enough for the column, short enough for the screen: a 640x1536 portrait must not push everything down. */}
      <div className="mx-auto" style={{ width: `min(100%, calc(70vh * ${ratio}))` }}>
        <AspectRatio
          ratio={ratio}
          data-testid="preview"
          data-ratio={ratio.toFixed(4)}
          className="overflow-hidden rounded-lg border bg-muted"
        >
          {livePreview !== null ? (
            // A small JPEG from the latents (issue 4), scaled up to the panel: blurry on purpose, it is a glimpse.
            // eslint-disable-next-line @next/next/no-img-element
            <img
              src={livePreview}
              alt="Preview of the image being generated"
              data-testid="live-preview"
              className="h-full w-full object-contain"
            />
          ) : image ? (
            // A blob: URL made from the api's PNG; next/image cannot optimise it and would only get in the way.
            // eslint-disable-next-line @next/next/no-img-element
            <img
              src={image.url}
              alt={`Generated image for “${image.values.positivePrompt}”, seed ${image.info.seed ?? "unknown"}`}
              data-testid="preview-image"
              className="h-full w-full object-contain"
            />
          ) : (
            <div
              data-testid="preview-placeholder"
              className="flex h-full w-full flex-col items-center justify-center gap-2 border-2 border-dashed border-muted-foreground/25 text-muted-foreground"
            >
              <ImageIcon aria-hidden="true" className="h-10 w-10" />
              <p className="text-sm">Your image will appear here</p>
              <p className="text-xs">{requestedSize}</p>
            </div>
          )}
          {livePreview !== null ? (
            <span
              aria-hidden="true"
              className="absolute right-2 top-2 flex items-center gap-1 rounded bg-background/80 px-2 py-0.5 font-mono text-xs tabular-nums"
            >
              <Loader2 className="h-3 w-3 animate-spin" />
              {seconds(elapsedMs)}
            </span>
          ) : (
            live && (
              <div
                aria-hidden="true"
                className="absolute inset-0 flex flex-col items-center justify-center gap-2 bg-background/60 backdrop-blur-[1px]"
              >
                <Loader2 className="h-8 w-8 animate-spin" />
                <span className="font-mono text-sm tabular-nums">{seconds(elapsedMs)}</span>
              </div>
            )
          )}
        </AspectRatio>
      </div>

      {live && <GenerationProgress live={live} />}

      {/* While a live preview stands in the panel, the shown image's details would describe another picture. */}
      {image && livePreview === null && <ImageDetails image={image} onReuseSeed={onReuseSeed} onSendToInit={onSendToInit} />}
    </div>
  );
}
