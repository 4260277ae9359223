"use client";

import { Download, ImagePlus, RotateCcw } from "lucide-react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import type { GeneratedImage } from "@/features/history/history-reducer";
import { CopyParametersButton } from "./copy-parameters-button";

export function seconds(ms: number) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The values the worker used for the shown image, Reuse for its seed, and Download under the api's file name. */
export function ImageDetails({
  image,
  onReuseSeed,
  onSendToInit,
}: {
  image: GeneratedImage;
  onReuseSeed: (seed: number) => void;
  onSendToInit: (image: GeneratedImage) => void;
}) {
  const { info } = image;
  return (
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
        <dt className="text-muted-foreground">Sampler</dt>
        <dd data-testid="used-sampler">
          {info.sampler ?? "?"}
          {info.scheduleType ? ` · ${info.scheduleType}` : ""}
        </dd>
        <dt className="text-muted-foreground">Steps · guidance</dt>
        <dd>
          {info.steps ?? "?"} · {info.guidanceScale ?? "?"}
        </dd>
        {info.denoisingStrength !== null && (
          <>
            <dt className="text-muted-foreground">Denoising strength</dt>
            <dd data-testid="used-denoising-strength">
              {info.denoisingStrength}
              {info.maskBlur !== null ? ` · mask blur ${info.maskBlur} px` : ""}
            </dd>
          </>
        )}
        <dt className="text-muted-foreground">Time</dt>
        <dd>
          {info.generationSeconds !== null ? `${info.generationSeconds.toFixed(2)} s on the worker, ` : ""}
          {seconds(image.elapsedMs)} in all
        </dd>
        <dt className="text-muted-foreground">Model</dt>
        <dd className="flex items-center gap-2">
          <span className="break-all" data-testid="used-model">
            {info.model ?? "unknown"}
          </span>
          {info.demoModel && <Badge variant="warning">demo</Badge>}
        </dd>
        <dt className="text-muted-foreground">LoRAs</dt>
        <dd data-testid="used-loras" className="break-all">
          {info.loras.length === 0 ? "none" : info.loras.map(({ name, weight }) => `${name} × ${weight}`).join(", ")}
        </dd>
      </dl>
      <div className="flex flex-col gap-2">
        <Button asChild variant="secondary">
          {/* The api's name for the file (the done event's filename, as its Content-Disposition); none: the browser's. */}
          <a href={image.url} download={info.filename ?? ""} data-testid="download">
            <Download aria-hidden="true" />
            Download
          </a>
        </Button>
        <Button type="button" variant="outline" onClick={() => onSendToInit(image)} data-testid="send-to-img2img">
          <ImagePlus aria-hidden="true" />
          Send to image to image
        </Button>
        {info.infotext && <CopyParametersButton key={image.id} infotext={info.infotext} />}
      </div>
    </div>
  );
}
