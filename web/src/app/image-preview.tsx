"use client";

import { Download, ImageIcon, Loader2, RotateCcw } from "lucide-react";

import { AspectRatio } from "@/components/ui/aspect-ratio";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { GenerationProgress, type LiveState } from "./generation-progress";
import { downloadName, type GeneratedImage } from "./params";

interface ImagePreviewProps {
  ratio: number;
  requestedSize: string;
  image: GeneratedImage | null;
  running: boolean;
  elapsedMs: number;
  /** Where the running request is; null when none runs. */
  live: LiveState | null;
  /** The worker's latest low-res look at the picture forming (a data: URL), shown until the final image replaces it. */
  livePreview: string | null;
  onReuseSeed: (seed: number) => void;
}

function seconds(ms: number) {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function ImagePreview({
  ratio,
  requestedSize,
  image,
  running,
  elapsedMs,
  live,
  livePreview,
  onReuseSeed,
}: ImagePreviewProps) {
  const showLive = running && livePreview !== null;
  const info = image?.info;
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
          {showLive ? (
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
              alt={`Generated image for “${image.values.positivePrompt}”, seed ${info?.seed ?? "unknown"}`}
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
          {showLive ? (
            <span
              aria-hidden="true"
              className="absolute right-2 top-2 flex items-center gap-1 rounded bg-background/80 px-2 py-0.5 font-mono text-xs tabular-nums"
            >
              <Loader2 className="h-3 w-3 animate-spin" />
              {seconds(elapsedMs)}
            </span>
          ) : running && (
            <div
              aria-hidden="true"
              className="absolute inset-0 flex flex-col items-center justify-center gap-2 bg-background/60 backdrop-blur-[1px]"
            >
              <Loader2 className="h-8 w-8 animate-spin" />
              <span className="font-mono text-sm tabular-nums">{seconds(elapsedMs)}</span>
            </div>
          )}
        </AspectRatio>
      </div>

      {running && live && <GenerationProgress live={live} />}

      {/* While a live preview stands in the panel, the shown image's details would describe another picture. */}
      {image && info && !showLive && (
        <div className="flex flex-wrap items-start justify-between gap-3">
          <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm" aria-label="Parameters of the shown image">
            <dt className="text-muted-foreground">Seed</dt>
            <dd className="flex items-center gap-2">
              <span data-testid="used-seed" className="font-mono">
                {info.seed ?? "unknown"}
              </span>
              {info.seed !== null && (
                <Button
                  type="button"
                  variant="outline"
                  size="sm"
                  className="h-6 px-2"
                  onClick={() => onReuseSeed(info.seed as number)}
                  aria-label={`Reuse seed ${info.seed}`}
                >
                  <RotateCcw aria-hidden="true" />
                  Reuse
                </Button>
              )}
            </dd>
            <dt className="text-muted-foreground">Size</dt>
            <dd data-testid="used-size">
              {info.width ?? "?"} × {info.height ?? "?"}
            </dd>
            <dt className="text-muted-foreground">Steps · guidance</dt>
            <dd>
              {info.steps ?? "?"} · {info.guidanceScale ?? "?"}
            </dd>
            <dt className="text-muted-foreground">Time</dt>
            <dd>
              {info.generationSeconds !== null ? `${info.generationSeconds.toFixed(2)} s on the worker, ` : ""}
              {seconds(image.elapsedMs)} in all
            </dd>
            <dt className="text-muted-foreground">Model</dt>
            <dd className="flex items-center gap-2">
              <span className="break-all">{info.model ?? "unknown"}</span>
              {info.demoModel && <Badge variant="warning">demo</Badge>}
            </dd>
          </dl>
          <Button asChild variant="secondary">
            <a href={image.url} download={downloadName(image)} data-testid="download">
              <Download aria-hidden="true" />
              Download
            </a>
          </Button>
        </div>
      )}
    </div>
  );
}
