"use client";

import { Loader2, Sparkles, Square, XCircle } from "lucide-react";

import { describeProblem } from "@/api/problem";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { announcement, isActive, type GenerationState } from "./generation-reducer";

interface GenerateControlsProps {
  state: GenerationState;
  elapsedMs: number;
  onCancel: () => void;
}

/** Generate (busy, with the elapsed time, while a request runs), Cancel, and how the last request ended. */
export function GenerateControls({ state, elapsedMs, onCancel }: GenerateControlsProps) {
  const running = isActive(state);
  const shown = state.phase === "failed" ? describeProblem(state.problem) : null;
  return (
    <>
      <div className="flex items-center gap-2">
        <Button type="submit" size="lg" className="flex-1" disabled={running} aria-busy={running}>
          {running ? (
            <>
              <Loader2 aria-hidden="true" className="animate-spin" />
              <span>Generating…</span>
              <span data-testid="elapsed" className="font-mono tabular-nums">
                {(elapsedMs / 1000).toFixed(1)} s
              </span>
            </>
          ) : (
            <>
              <Sparkles aria-hidden="true" />
              Generate
            </>
          )}
        </Button>
        {running && (
          <Button type="button" variant="outline" size="lg" onClick={onCancel}>
            <Square aria-hidden="true" />
            Cancel
          </Button>
        )}
      </div>

      {state.phase === "cancelled" && (
        <p data-testid="cancelled-note" className="text-sm text-muted-foreground">
          Cancelled.
        </p>
      )}
      {shown && (
        <Alert variant="destructive" data-testid="generate-error">
          <XCircle aria-hidden="true" className="h-4 w-4" />
          <AlertTitle>{shown.title}</AlertTitle>
          <AlertDescription data-testid="generate-error-message">{shown.message}</AlertDescription>
        </Alert>
      )}
      <p className="sr-only" role="status" aria-live="polite">
        {announcement(state)}
      </p>
    </>
  );
}
