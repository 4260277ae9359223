"use client";

import { ChevronDown, Loader2 } from "lucide-react";

import { LIMITS } from "@/api/limits";
import { SliderNumberField } from "@/components/slider-number-field";
import { Button } from "@/components/ui/button";
import { Collapsible, CollapsibleContent, CollapsibleTrigger } from "@/components/ui/collapsible";
import { Skeleton } from "@/components/ui/skeleton";
import type { FormValues } from "@/features/generate/form-values";
import { SeedField } from "./seed-field";
import { SizeFields } from "./size-fields";

// The guidance slider moves in half steps; the number input takes any value the api allows.
const GUIDANCE_SLIDER_STEP = 0.5;

interface AdvancedSettingsProps {
  values: FormValues;
  onChange: (patch: Partial<FormValues>) => void;
  /** False until GET /ready has told the worker's defaults: its fields would show numbers no model uses. */
  loaded: boolean;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

function Summary({ values }: { values: FormValues }) {
  return (
    <>
      {values.width || "?"} × {values.height || "?"} · {values.steps || "default"} steps · guidance{" "}
      {values.guidanceScale || "default"} · seed {values.seedMode === "fixed" ? values.seed || "?" : "random"}
    </>
  );
}

function SettingsSkeleton() {
  return (
    <div data-testid="settings-loading" aria-busy="true" className="space-y-4">
      <p className="flex items-center gap-2 text-sm text-muted-foreground">
        <Loader2 aria-hidden="true" className="h-4 w-4 animate-spin" />
        Connecting to the worker… its model&apos;s defaults appear here once it answers.
      </p>
      {[0, 1, 2].map((row) => (
        <div key={row} className="space-y-2">
          <Skeleton className="h-4 w-24" />
          <Skeleton className="h-9 w-full" />
        </div>
      ))}
    </div>
  );
}

export function AdvancedSettings({ values, onChange, loaded, open, onOpenChange }: AdvancedSettingsProps) {
  const { steps, guidanceScale } = LIMITS;
  return (
    <Collapsible open={open} onOpenChange={onOpenChange} className="rounded-lg border">
      <CollapsibleTrigger asChild>
        <Button type="button" variant="ghost" className="w-full justify-between rounded-lg px-4">
          <span>Advanced</span>
          <span className="flex items-center gap-2 text-xs font-normal text-muted-foreground">
            {loaded ? <Summary values={values} /> : "Connecting to the worker…"}
            <ChevronDown aria-hidden="true" className={open ? "rotate-180 transition-transform" : "transition-transform"} />
          </span>
        </Button>
      </CollapsibleTrigger>
      <CollapsibleContent className="space-y-5 px-4 pb-4 pt-2">
        {loaded ? (
          <>
            <SizeFields values={values} onChange={onChange} />
            <SliderNumberField
              id="steps"
              name="steps"
              label="Steps"
              value={values.steps}
              onChange={(value) => onChange({ steps: value })}
              min={steps.min}
              max={steps.max}
              step={steps.step}
              hint={`Denoising steps, ${steps.min} to ${steps.max}: more is slower and usually cleaner.`}
            />
            <SliderNumberField
              id="guidance"
              name="guidanceScale"
              label="Guidance scale"
              value={values.guidanceScale}
              onChange={(value) => onChange({ guidanceScale: value })}
              min={guidanceScale.min}
              max={guidanceScale.max}
              step={guidanceScale.step}
              sliderStep={GUIDANCE_SLIDER_STEP}
              hint={`How closely to follow the prompt, ${guidanceScale.min} to ${guidanceScale.max}.`}
            />
            <SeedField values={values} onChange={onChange} />
          </>
        ) : (
          <SettingsSkeleton />
        )}
      </CollapsibleContent>
    </Collapsible>
  );
}
