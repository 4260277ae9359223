"use client";

import { ChevronDown, Loader2 } from "lucide-react";

import { LIMITS } from "@/api/limits";
import { SliderNumberField } from "@/components/slider-number-field";
import { Button } from "@/components/ui/button";
import { Collapsible, CollapsibleContent, CollapsibleTrigger } from "@/components/ui/collapsible";
import { Skeleton } from "@/components/ui/skeleton";
import type { FormValues } from "@/features/generate/form-values";
import { LoraPicker } from "@/features/loras/lora-picker";
import type { LorasState } from "@/features/loras/use-loras";
import { ModelPicker } from "@/features/models/model-picker";
import type { ModelsState } from "@/features/models/use-models";
import { SamplerFields } from "./sampler-fields";
import { SeedField } from "./seed-field";
import { SizeFields } from "./size-fields";
import type { SamplersState } from "./use-samplers";

// The guidance slider moves in half steps; the number input takes any value the api allows.
const GUIDANCE_SLIDER_STEP = 0.5;

/** What the worker and the api say about the model: its own sampler, the samplers, the most images a request. */
export interface ModelChoices extends SamplersState {
  defaultSampler: string;
  maxCount: number;
}

/** The model library: its models (GET /models) and LoRAs (GET /loras). */
export interface LibraryChoices {
  models: ModelsState;
  loras: LorasState;
}

interface AdvancedSettingsProps {
  values: FormValues;
  onChange: (patch: Partial<FormValues>) => void;
  /** Null until GET /ready has told the worker's defaults: its fields would show numbers no model uses. */
  model: ModelChoices | null;
  library: LibraryChoices;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

function Summary({ values, model, library }: { values: FormValues; model: ModelChoices; library: LibraryChoices }) {
  const count = Number(values.count);
  const loras = values.loras.length;
  const modelName = values.model || library.models.defaultModel?.name;
  return (
    <>
      {modelName ? `${modelName} · ` : ""}
      {loras > 0 ? `${loras} LoRA${loras > 1 ? "s" : ""} · ` : ""}
      {values.width || "?"} × {values.height || "?"} · {values.sampler || model.defaultSampler} ·{" "}
      {values.steps || "default"} steps · guidance {values.guidanceScale || "default"} · seed{" "}
      {values.seedMode === "fixed" ? values.seed || "?" : "random"}
      {count > 1 ? ` · ${count} images` : ""}
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

export function AdvancedSettings({ values, onChange, model, library, open, onOpenChange }: AdvancedSettingsProps) {
  const { steps, guidanceScale } = LIMITS;
  const maxCount = model ? Math.min(model.maxCount, LIMITS.count.max) : 1;
  return (
    <Collapsible open={open} onOpenChange={onOpenChange} className="rounded-lg border">
      <CollapsibleTrigger asChild>
        <Button type="button" variant="ghost" className="w-full justify-between rounded-lg px-4">
          <span>Advanced</span>
          <span className="flex items-center gap-2 text-xs font-normal text-muted-foreground">
            {model ? <Summary values={values} model={model} library={library} /> : "Connecting to the worker…"}
            <ChevronDown aria-hidden="true" className={open ? "rotate-180 transition-transform" : "transition-transform"} />
          </span>
        </Button>
      </CollapsibleTrigger>
      <CollapsibleContent className="space-y-5 px-4 pb-4 pt-2">
        {model ? (
          <>
            <ModelPicker value={values.model} onChange={onChange} library={library.models} />
            <LoraPicker value={values.loras} onChange={onChange} library={library.loras} />
            <SizeFields values={values} onChange={onChange} />
            <SamplerFields
              values={values}
              onChange={onChange}
              samplers={model.samplers}
              samplersFailed={model.failed}
              defaultSampler={model.defaultSampler}
            />
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
            {maxCount > 1 && (
              <SliderNumberField
                id="count"
                name="count"
                label="Images"
                value={values.count}
                onChange={(value) => onChange({ count: value })}
                min={LIMITS.count.min}
                max={maxCount}
                step={1}
                hint={`How many images, ${LIMITS.count.min} to ${maxCount}, with seeds seed, seed+1, …`}
              />
            )}
          </>
        ) : (
          <SettingsSkeleton />
        )}
      </CollapsibleContent>
    </Collapsible>
  );
}
