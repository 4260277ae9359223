"use client";

import { Brush, Eraser, FlipHorizontal2, Trash2 } from "lucide-react";
import { useRef, useState, type PointerEvent } from "react";

import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { Slider } from "@/components/ui/slider";
import type { InitImage } from "./img2img-request";
import { maskFromAlpha } from "./mask-png";

type Tool = "brush" | "eraser";

// Painted in a colour that shows on any picture; only the alpha becomes the mask (opaque = white = repaint).
const PAINT = "rgb(239, 68, 68)";

/** The mask's PNG, or null when nothing is painted (then no `mask` is sent). */
function exportMask(canvas: HTMLCanvasElement): string | null {
  const context = canvas.getContext("2d");
  if (!context) return null;
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  let painted = false;
  for (let i = 3; i < data.length && !painted; i += 4) painted = data[i] > 0;
  return painted ? maskFromAlpha(canvas.width, canvas.height, data) : null;
}

/**
 * The init image with a canvas of its pixel size over it: brush and eraser strokes, their size in the image's
 * pixels, Clear and Invert. `onMask` gets the mask after each change.
 */
export function MaskEditor({ init, onMask }: { init: InitImage; onMask: (mask: string | null) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const [tool, setTool] = useState<Tool>("brush");
  const [size, setSize] = useState(() => Math.max(4, Math.round(Math.min(init.width, init.height) / 12)));

  const point = (event: PointerEvent<HTMLCanvasElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * init.width) / rect.width,
      y: ((event.clientY - rect.top) * init.height) / rect.height,
    };
  };

  const stroke = (to: { x: number; y: number }) => {
    const context = canvas.current?.getContext("2d");
    if (!context) return;
    const from = last.current ?? to;
    context.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
    context.strokeStyle = PAINT;
    context.lineWidth = size;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
    last.current = to;
  };

  const finish = () => {
    if (last.current === null) return;
    last.current = null;
    if (canvas.current) onMask(exportMask(canvas.current));
  };

  const clear = () => {
    canvas.current?.getContext("2d")?.clearRect(0, 0, init.width, init.height);
    onMask(null);
  };

  const invert = () => {
    const context = canvas.current?.getContext("2d");
    if (!context || !canvas.current) return;
    const image = context.getImageData(0, 0, init.width, init.height);
    const { data } = image;
    for (let i = 0; i < data.length; i += 4) {
      data[i] = 239;
      data[i + 1] = 68;
      data[i + 2] = 68;
      data[i + 3] = 255 - data[i + 3];
    }
    context.putImageData(image, 0, 0);
    onMask(exportMask(canvas.current));
  };

  return (
    <div className="space-y-2">
      <div className="relative overflow-hidden rounded-md border bg-muted">
        {/* eslint-disable-next-line @next/next/no-img-element */}
        <img src={init.dataUrl} alt={`Init image ${init.name}`} data-testid="init-image" className="block h-auto w-full" />
        <canvas
          ref={canvas}
          width={init.width}
          height={init.height}
          data-testid="mask-canvas"
          aria-label="Mask: paint where the image is made again"
          className="absolute inset-0 h-full w-full cursor-crosshair touch-none opacity-50"
          onPointerDown={(event) => {
            event.currentTarget.setPointerCapture(event.pointerId);
            stroke(point(event));
          }}
          onPointerMove={(event) => {
            if (last.current !== null) stroke(point(event));
          }}
          onPointerUp={finish}
          onPointerCancel={finish}
        />
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <Button type="button" size="sm" variant={tool === "brush" ? "default" : "outline"} aria-pressed={tool === "brush"} onClick={() => setTool("brush")}>
          <Brush aria-hidden="true" />
          Brush
        </Button>
        <Button type="button" size="sm" variant={tool === "eraser" ? "default" : "outline"} aria-pressed={tool === "eraser"} onClick={() => setTool("eraser")}>
          <Eraser aria-hidden="true" />
          Eraser
        </Button>
        <Button type="button" size="sm" variant="outline" onClick={clear}>
          <Trash2 aria-hidden="true" />
          Clear mask
        </Button>
        <Button type="button" size="sm" variant="outline" onClick={invert}>
          <FlipHorizontal2 aria-hidden="true" />
          Invert mask
        </Button>
      </div>
      <div className="flex items-center gap-3">
        <Label className="shrink-0 text-xs">Brush size {size} px</Label>
        <Slider thumbLabel="Brush size" min={1} max={Math.max(8, Math.round(Math.max(init.width, init.height) / 4))} step={1} value={[size]} onValueChange={([next]) => setSize(next)} />
      </div>
    </div>
  );
}
