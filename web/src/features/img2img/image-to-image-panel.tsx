"use client";

import { ImagePlus, XCircle } from "lucide-react";
import { useRef } from "react";

import { LIMITS } from "@/api/limits";
import { SliderNumberField } from "@/components/slider-number-field";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { RESIZE_MODES, type ResizeMode } from "./img2img-request";
import { MaskEditor } from "./mask-editor";
import type { ImageToImageControls } from "./use-image-to-image";

/** Text to image or image to image: two tabs above the prompt. */
export function ModeTabs({ enabled, onChange }: { enabled: boolean; onChange: (enabled: boolean) => void }) {
  const tab = (on: boolean, label: string) => (
    <Button
      type="button"
      role="tab"
      size="sm"
      variant={enabled === on ? "default" : "ghost"}
      aria-selected={enabled === on}
      onClick={() => onChange(on)}
    >
      {label}
    </Button>
  );
  return (
    <div role="tablist" aria-label="Mode" className="inline-flex gap-1 rounded-md border p-1">
      {tab(false, "Text to image")}
      {tab(true, "Image to image")}
    </div>
  );
}

const number = (text: string, fallback: number) => (text.trim() !== "" && Number.isFinite(Number(text)) ? Number(text) : fallback);

/** The init image (chosen, dropped, pasted or sent from a result), its mask, strength and resize mode. */
export function ImageToImagePanel({ controls }: { controls: ImageToImageControls }) {
  const { state, problem, update, setFile } = controls;
  const input = useRef<HTMLInputElement>(null);
  const strength = LIMITS.denoisingStrength;
  const blur = LIMITS.maskBlur;
  return (
    <section aria-label="Image to image" className="space-y-4 rounded-lg border p-4">
      <div className="flex flex-wrap items-center gap-2 text-xs text-muted-foreground">
        <Button type="button" variant="outline" size="sm" onClick={() => input.current?.click()}>
          <ImagePlus aria-hidden="true" />
          {state.init ? "Choose another init image…" : "Choose an init image…"}
        </Button>
        <span>or drop or paste a PNG, JPEG or WebP anywhere on the page.</span>
        <input
          ref={input}
          type="file"
          accept="image/png,image/jpeg,image/webp"
          className="sr-only"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="init-image-file"
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) void setFile(file);
            event.target.value = "";
          }}
        />
      </div>
      {problem && (
        <Alert variant="destructive" role="alert" data-testid="init-image-problem">
          <XCircle aria-hidden="true" className="h-4 w-4" />
          <AlertDescription>{problem}</AlertDescription>
        </Alert>
      )}
      {state.init ? (
        <>
          <p className="text-xs text-muted-foreground" data-testid="init-image-size">
            {state.init.name}: {state.init.width} × {state.init.height}. Paint over it to repaint only there (inpainting);
            without a mask the whole image is made again. Without a width and height you set, the answer has this size
            (rounded down to 8).
          </p>
          <MaskEditor key={state.init.dataUrl} init={state.init} onMask={(mask) => update({ mask })} />
        </>
      ) : (
        <p className="text-sm text-muted-foreground" data-testid="init-image-empty">
          No init image yet: Generate makes one from the prompt alone.
        </p>
      )}
      <SliderNumberField
        id="denoising-strength"
        name="denoisingStrength"
        label="Denoising strength"
        value={String(state.denoisingStrength)}
        onChange={(text) => update({ denoisingStrength: number(text, strength.default) })}
        min={strength.min}
        max={strength.max}
        step={strength.step}
        hint={`How much of the init image is made again: more than ${strength.exclusiveMin}, at most ${strength.max}.`}
      />
      <div className="space-y-2">
        <Label htmlFor="resize-mode">Resize mode</Label>
        <NativeSelect
          id="resize-mode"
          value={state.resizeMode}
          onChange={(event) => update({ resizeMode: event.target.value as ResizeMode })}
        >
          {RESIZE_MODES.map((mode) => (
            <option key={mode} value={mode}>
              {mode[0].toUpperCase() + mode.slice(1)}
            </option>
          ))}
        </NativeSelect>
      </div>
      <SliderNumberField
        id="mask-blur"
        name="maskBlur"
        label="Mask blur"
        value={String(state.maskBlur)}
        onChange={(text) => update({ maskBlur: Math.round(number(text, blur.default)) })}
        min={blur.min}
        max={blur.max}
        step={blur.step}
        hint={state.mask ? "The mask's feathering in pixels." : "Sent with a painted mask: its feathering in pixels."}
      />
    </section>
  );
}
