"use client";

import type { ReactNode } from "react";

import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Slider } from "@/components/ui/slider";

interface SliderNumberFieldProps {
  id: string;
  name: string;
  label: string;
  /** The typed text: kept as it is (blank, out of range), so the api's message can say what is wrong with it. */
  value: string;
  onChange: (value: string) => void;
  min: number;
  max: number;
  /** The number input's step; the slider's too unless sliderStep says otherwise. */
  step?: number;
  sliderStep?: number;
  hint: ReactNode;
  /** Shown after the number input (a Remove button). */
  actions?: ReactNode;
}

/** A number input and a slider for the same value, under one label, with a hint the input is described by. */
export function SliderNumberField({
  id,
  name,
  label,
  value,
  onChange,
  min,
  max,
  step,
  sliderStep,
  hint,
  actions,
}: SliderNumberFieldProps) {
  const typed = Number(value);
  // The slider shows the typed value when it can; a blank or unreadable one puts the thumb at the start.
  const position = value.trim() !== "" && Number.isFinite(typed) ? Math.min(max, Math.max(min, typed)) : min;
  const integer = step !== undefined && Number.isInteger(step);
  return (
    <div className="space-y-2">
      <div className="flex items-center justify-between gap-4">
        <Label htmlFor={id} className="break-all">
          {label}
        </Label>
        <div className="flex shrink-0 items-center gap-1">
          <Input
            id={id}
            name={name}
            type="number"
            inputMode={integer ? "numeric" : "decimal"}
            className="h-8 w-24"
            min={min}
            max={max}
            step={step ?? sliderStep ?? "any"}
            value={value}
            onChange={(event) => onChange(event.target.value)}
            aria-describedby={`${id}-hint`}
          />
          {actions}
        </div>
      </div>
      <Slider
        thumbLabel={label}
        min={min}
        max={max}
        step={sliderStep ?? step ?? 1}
        value={[position]}
        onValueChange={([next]) => onChange(String(next))}
      />
      <p id={`${id}-hint`} className="text-xs text-muted-foreground">
        {hint}
      </p>
    </div>
  );
}
