"use client";

import type { KeyboardEvent, ReactNode } from "react";

import { LIMITS } from "@/api/limits";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import type { FormValues } from "./form-values";

interface PromptFieldsProps {
  values: Pick<FormValues, "positivePrompt" | "negativePrompt">;
  onChange: (patch: Partial<FormValues>) => void;
  /** Ctrl+Enter (⌘+Enter) in either prompt. */
  onSubmitShortcut: () => void;
  /** Under the prompt: its LoRA tags as chips. */
  promptExtra?: ReactNode;
}

/** "12 / 2000": the length the api allows, said before it refuses a longer prompt (no maxlength: it would cut). */
function Count({ id, text, max }: { id: string; text: string; max: number }) {
  const over = text.length > max;
  return (
    <span id={id} className={over ? "text-destructive" : undefined}>
      {text.length} / {max} characters
    </span>
  );
}

export function PromptFields({ values, onChange, onSubmitShortcut, promptExtra }: PromptFieldsProps) {
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      onSubmitShortcut();
    }
  };
  return (
    <>
      <div className="space-y-2">
        <Label htmlFor="positive-prompt">Prompt</Label>
        <Textarea
          id="positive-prompt"
          name="positivePrompt"
          rows={5}
          placeholder="a lighthouse at dusk, oil painting"
          value={values.positivePrompt}
          onChange={(event) => onChange({ positivePrompt: event.target.value })}
          onKeyDown={onKeyDown}
          aria-describedby="prompt-hint prompt-count"
          aria-required="true"
        />
        <p className="text-right text-xs text-muted-foreground">
          <Count id="prompt-count" text={values.positivePrompt} max={LIMITS.positivePrompt.maxLength} />
        </p>
        {promptExtra}
      </div>
      <div className="space-y-2">
        <Label htmlFor="negative-prompt">Negative prompt</Label>
        <Textarea
          id="negative-prompt"
          name="negativePrompt"
          rows={3}
          placeholder="blurry, low quality"
          value={values.negativePrompt}
          onChange={(event) => onChange({ negativePrompt: event.target.value })}
          onKeyDown={onKeyDown}
          aria-describedby="prompt-hint negative-count"
        />
        <p className="flex justify-between gap-3 text-xs text-muted-foreground">
          <span id="prompt-hint">Ctrl+Enter (⌘+Enter on a Mac) in either prompt generates.</span>
          <Count id="negative-count" text={values.negativePrompt} max={LIMITS.negativePrompt.maxLength} />
        </p>
      </div>
    </>
  );
}
