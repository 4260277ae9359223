"use client";

import { LIMITS, type NumberLimit } from "@/api/limits";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import type { FormValues } from "@/features/generate/form-values";
import { SIZE_PRESETS, presetKey, ratioLabel, type SizePreset } from "./size-presets";

const CUSTOM = "custom";

const fits = (value: number, limit: NumberLimit) =>
  value >= limit.min && value <= limit.max && (limit.step === undefined || value % limit.step === 0);
// A preset the api would refuse is not offered.
const PRESETS = SIZE_PRESETS.filter((p) => fits(p.width, LIMITS.width) && fits(p.height, LIMITS.height));

function PresetOptions({ group, label }: { group: SizePreset["group"]; label: string }) {
  return (
    <optgroup label={label}>
      {PRESETS.filter((p) => p.group === group).map((p) => (
        <option key={presetKey(p.width, p.height)} value={presetKey(p.width, p.height)}>
          {`${p.width} × ${p.height} (${ratioLabel(p.width, p.height)})`}
        </option>
      ))}
    </optgroup>
  );
}

function PixelInput({ field, label, value, onChange }: {
  field: "width" | "height";
  label: string;
  value: string;
  onChange: (value: string) => void;
}) {
  const limit = LIMITS[field];
  return (
    <div className="space-y-1.5">
      <Label htmlFor={field}>{label}</Label>
      <Input
        id={field}
        name={field}
        type="number"
        inputMode="numeric"
        min={limit.min}
        max={limit.max}
        step={limit.step}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby="size-hint"
      />
    </div>
  );
}

interface SizeFieldsProps {
  values: Pick<FormValues, "width" | "height">;
  onChange: (patch: Partial<FormValues>) => void;
}

/** A menu of sizes and the width and height it fills in, which can also be typed. */
export function SizeFields({ values, onChange }: SizeFieldsProps) {
  const currentKey = presetKey(values.width.trim(), values.height.trim());
  const selected = PRESETS.some((p) => presetKey(p.width, p.height) === currentKey) ? currentKey : CUSTOM;
  const { width, height } = LIMITS;
  const sameLimits = width.min === height.min && width.max === height.max && width.step === height.step;
  const range = (l: NumberLimit) => `${l.step ? `multiples of ${l.step} ` : ""}from ${l.min} to ${l.max}`;
  return (
    <div className="space-y-2">
      <Label htmlFor="size-preset">Size</Label>
      <NativeSelect
        id="size-preset"
        value={selected}
        onChange={(event) => {
          const [w, h] = event.target.value.split("x");
          if (event.target.value !== CUSTOM) onChange({ width: w, height: h });
        }}
      >
        <PresetOptions group="sdxl" label="SDXL sizes (about 1 megapixel)" />
        <PresetOptions group="small" label="Small sizes (quick with the demo model)" />
        <option value={CUSTOM}>Custom size</option>
      </NativeSelect>
      <div className="grid grid-cols-2 gap-3">
        <PixelInput field="width" label="Width" value={values.width} onChange={(w) => onChange({ width: w })} />
        <PixelInput field="height" label="Height" value={values.height} onChange={(h) => onChange({ height: h })} />
      </div>
      <p id="size-hint" className="text-xs text-muted-foreground">
        {sameLimits
          ? `Pixels, ${range(width)}.`
          : `Pixels: width ${range(width)}, height ${range(height)}.`}
      </p>
    </div>
  );
}
