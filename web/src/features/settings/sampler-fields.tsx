"use client";

import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import type { SamplerInfo } from "@/api/types";
import { AUTOMATIC_SCHEDULE, type FormValues } from "@/features/generate/form-values";

interface SamplerFieldsProps {
  values: Pick<FormValues, "sampler" | "scheduleType">;
  onChange: (patch: Partial<FormValues>) => void;
  /** GET /samplers; undefined while unknown. */
  samplers: readonly SamplerInfo[] | undefined;
  samplersFailed: boolean;
  /** The model's own sampler (GET /ready's defaults.sampler): the form's "", which sends none. */
  defaultSampler: string;
}

/** The schedule types the sampler takes (the model's own when the form's value is ""); Automatic at least. */
export function scheduleTypesOf(samplers: readonly SamplerInfo[] | undefined, name: string): string[] {
  return samplers?.find((s) => s.name === name)?.scheduleTypes ?? [AUTOMATIC_SCHEDULE];
}

/** The sampler (A1111's names, from GET /samplers) and the schedule types it takes. */
export function SamplerFields({ values, onChange, samplers, samplersFailed, defaultSampler }: SamplerFieldsProps) {
  const others = (samplers ?? []).map((s) => s.name).filter((name) => name !== defaultSampler);
  // A value the list lacks (the list not loaded yet, an image's sampler brought back) stays selectable as it is.
  if (values.sampler !== "" && !others.includes(values.sampler)) others.unshift(values.sampler);
  const schedules = scheduleTypesOf(samplers, values.sampler || defaultSampler);
  if (!schedules.includes(values.scheduleType)) schedules.push(values.scheduleType);

  const chooseSampler = (sampler: string) => {
    const patch: Partial<FormValues> = { sampler };
    // A schedule the new sampler cannot follow goes back to its own choice.
    if (!scheduleTypesOf(samplers, sampler || defaultSampler).includes(values.scheduleType)) {
      patch.scheduleType = AUTOMATIC_SCHEDULE;
    }
    onChange(patch);
  };

  return (
    <div className="space-y-2">
      <div className="grid grid-cols-2 gap-3">
        <div className="space-y-1.5">
          <Label htmlFor="sampler">Sampler</Label>
          <NativeSelect
            id="sampler"
            name="sampler"
            value={values.sampler}
            onChange={(event) => chooseSampler(event.target.value)}
            aria-describedby="sampler-hint"
          >
            <option value="">{defaultSampler} (model default)</option>
            {others.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </NativeSelect>
        </div>
        <div className="space-y-1.5">
          <Label htmlFor="schedule-type">Schedule type</Label>
          <NativeSelect
            id="schedule-type"
            name="scheduleType"
            value={values.scheduleType}
            onChange={(event) => onChange({ scheduleType: event.target.value })}
            aria-describedby="sampler-hint"
          >
            {schedules.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </NativeSelect>
        </div>
      </div>
      <p id="sampler-hint" className="text-xs text-muted-foreground">
        {samplersFailed
          ? "The API's list of samplers could not be read: the model's own sampler is used."
          : "AUTOMATIC1111's samplers; Automatic is the schedule the sampler would choose itself."}
      </p>
    </div>
  );
}
