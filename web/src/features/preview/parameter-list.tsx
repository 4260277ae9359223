"use client";

import type { ReactNode } from "react";

import type { GenerationInfo } from "@/api/stream-events";
import { Badge } from "@/components/ui/badge";

export function seconds(ms: number) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * What the worker used for an image (the one just made, or one of the gallery's), one row per value; `seedAction`
 * sits beside the seed (Reuse).
 */
export function ParameterList({
  info,
  elapsedMs,
  seedAction,
  label,
}: {
  info: GenerationInfo;
  /** From the request to the answer; null when unknown. */
  elapsedMs: number | null;
  seedAction?: ReactNode;
  label: string;
}) {
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm" aria-label={label}>
      <dt className="text-muted-foreground">Seed</dt>
      <dd className="flex items-center gap-2">
        <span data-testid="used-seed" className="font-mono">
          {info.seed ?? "unknown"}
        </span>
        {seedAction}
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
        {info.generationSeconds !== null ? `${info.generationSeconds.toFixed(2)} s on the worker` : ""}
        {info.generationSeconds !== null && elapsedMs !== null ? ", " : ""}
        {elapsedMs !== null ? `${seconds(elapsedMs)} in all` : ""}
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
  );
}
