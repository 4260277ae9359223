"use client";

import { Download, ImagePlus, RotateCcw } from "lucide-react";

import { Button } from "@/components/ui/button";
import type { GeneratedImage } from "@/features/history/history-reducer";
import { CopyParametersButton } from "./copy-parameters-button";
import { ParameterList } from "./parameter-list";

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
      <ParameterList
        info={info}
        elapsedMs={image.elapsedMs}
        label="Parameters of the shown image"
        seedAction={
          info.seed !== null && (
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
          )
        }
      />
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
