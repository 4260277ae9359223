"use client";

import { ChevronDown, Dices } from "lucide-react";

import { Button } from "@/components/ui/button";
import { Collapsible, CollapsibleContent, CollapsibleTrigger } from "@/components/ui/collapsible";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group";
import { Slider } from "@/components/ui/slider";
import { LIMITS, SIZE_PRESETS, presetKey, randomSeed, ratioLabel, type FormValues, type SeedMode } from "./params";

interface AdvancedSettingsProps {
  values: FormValues;
  onChange: (patch: Partial<FormValues>) => void;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

const CUSTOM = "custom";

function presetLabel(width: number, height: number) {
  return `${width} × ${height} (${ratioLabel(width, height)})`;
}

function clamp(value: number, min: number, max: number, fallback: number) {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

export function AdvancedSettings({ values, onChange, open, onOpenChange }: AdvancedSettingsProps) {
  const currentKey = presetKey(values.width.trim(), values.height.trim());
  const selected = SIZE_PRESETS.some((p) => presetKey(p.width, p.height) === currentKey) ? currentKey : CUSTOM;
  const stepsNumber = clamp(Number(values.steps), LIMITS.stepsMin, LIMITS.stepsMax, 30);
  const guidanceNumber = clamp(Number(values.guidanceScale), LIMITS.guidanceMin, LIMITS.guidanceMax, 7);

  return (
    <Collapsible open={open} onOpenChange={onOpenChange} className="rounded-lg border">
      <CollapsibleTrigger asChild>
        <Button type="button" variant="ghost" className="w-full justify-between rounded-lg px-4">
          <span>Advanced</span>
          <span className="flex items-center gap-2 text-xs font-normal text-muted-foreground">
            {values.width || "?"} × {values.height || "?"} · {values.steps || "default"} steps · guidance{" "}
            {values.guidanceScale || "default"} · seed {values.seedMode === "fixed" ? values.seed || "?" : "random"}
            <ChevronDown aria-hidden="true" className={open ? "rotate-180 transition-transform" : "transition-transform"} />
          </span>
        </Button>
      </CollapsibleTrigger>
      <CollapsibleContent className="space-y-5 px-4 pb-4 pt-2">
        <div className="space-y-2">
          <Label htmlFor="size-preset">Size</Label>
          <NativeSelect
            id="size-preset"
            value={selected}
            onChange={(event) => {
              const [width, height] = event.target.value.split("x");
              if (event.target.value !== CUSTOM) onChange({ width, height });
            }}
          >
            <optgroup label="SDXL sizes (about 1 megapixel)">
              {SIZE_PRESETS.filter((p) => p.group === "sdxl").map((p) => (
                <option key={presetKey(p.width, p.height)} value={presetKey(p.width, p.height)}>
                  {presetLabel(p.width, p.height)}
                </option>
              ))}
            </optgroup>
            <optgroup label="Small sizes (quick with the demo model)">
              {SIZE_PRESETS.filter((p) => p.group === "small").map((p) => (
                <option key={presetKey(p.width, p.height)} value={presetKey(p.width, p.height)}>
                  {presetLabel(p.width, p.height)}
                </option>
              ))}
            </optgroup>
            <option value={CUSTOM}>Custom size</option>
          </NativeSelect>
          <div className="grid grid-cols-2 gap-3">
            <div className="space-y-1.5">
              <Label htmlFor="width">Width</Label>
              <Input
                id="width"
                name="width"
                type="number"
                inputMode="numeric"
                min={LIMITS.sizeMin}
                max={LIMITS.sizeMax}
                step={LIMITS.sizeStep}
                value={values.width}
                onChange={(event) => onChange({ width: event.target.value })}
                aria-describedby="size-hint"
              />
            </div>
            <div className="space-y-1.5">
              <Label htmlFor="height">Height</Label>
              <Input
                id="height"
                name="height"
                type="number"
                inputMode="numeric"
                min={LIMITS.sizeMin}
                max={LIMITS.sizeMax}
                step={LIMITS.sizeStep}
                value={values.height}
                onChange={(event) => onChange({ height: event.target.value })}
                aria-describedby="size-hint"
              />
            </div>
          </div>
          <p id="size-hint" className="text-xs text-muted-foreground">
            Pixels, multiples of {LIMITS.sizeStep} from {LIMITS.sizeMin} to {LIMITS.sizeMax}.
          </p>
        </div>

        <div className="space-y-2">
          <div className="flex items-center justify-between gap-4">
            <Label htmlFor="steps">Steps</Label>
            <Input
              id="steps"
              name="steps"
              type="number"
              inputMode="numeric"
              className="h-8 w-24"
              min={LIMITS.stepsMin}
              max={LIMITS.stepsMax}
              step={1}
              value={values.steps}
              onChange={(event) => onChange({ steps: event.target.value })}
              aria-describedby="steps-hint"
            />
          </div>
          <Slider
            thumbLabel="Steps"
            min={LIMITS.stepsMin}
            max={LIMITS.stepsMax}
            step={1}
            value={[stepsNumber]}
            onValueChange={([value]) => onChange({ steps: String(value) })}
          />
          <p id="steps-hint" className="text-xs text-muted-foreground">
            Denoising steps, {LIMITS.stepsMin} to {LIMITS.stepsMax}: more is slower and usually cleaner.
          </p>
        </div>

        <div className="space-y-2">
          <div className="flex items-center justify-between gap-4">
            <Label htmlFor="guidance">Guidance scale</Label>
            <Input
              id="guidance"
              name="guidanceScale"
              type="number"
              inputMode="decimal"
              className="h-8 w-24"
              min={LIMITS.guidanceMin}
              max={LIMITS.guidanceMax}
              step={0.5}
              value={values.guidanceScale}
              onChange={(event) => onChange({ guidanceScale: event.target.value })}
              aria-describedby="guidance-hint"
            />
          </div>
          <Slider
            thumbLabel="Guidance scale"
            min={LIMITS.guidanceMin}
            max={LIMITS.guidanceMax}
            step={0.5}
            value={[guidanceNumber]}
            onValueChange={([value]) => onChange({ guidanceScale: String(value) })}
          />
          <p id="guidance-hint" className="text-xs text-muted-foreground">
            How closely to follow the prompt, {LIMITS.guidanceMin} to {LIMITS.guidanceMax}.
          </p>
        </div>

        <fieldset className="space-y-2">
          <legend id="seed-legend" className="text-sm font-medium leading-none">
            Seed
          </legend>
          <RadioGroup
            value={values.seedMode}
            onValueChange={(mode) => {
              const patch: Partial<FormValues> = { seedMode: mode as SeedMode };
              if (mode === "fixed" && values.seed.trim() === "") patch.seed = String(randomSeed());
              onChange(patch);
            }}
            className="flex gap-6 pt-1"
            aria-labelledby="seed-legend"
          >
            <div className="flex items-center gap-2">
              <RadioGroupItem value="random" id="seed-random" />
              <Label htmlFor="seed-random" className="font-normal">
                Random
              </Label>
            </div>
            <div className="flex items-center gap-2">
              <RadioGroupItem value="fixed" id="seed-fixed" />
              <Label htmlFor="seed-fixed" className="font-normal">
                Fixed
              </Label>
            </div>
          </RadioGroup>
          <div className="flex items-center gap-2">
            <Label htmlFor="seed" className="sr-only">
              Seed value
            </Label>
            <Input
              id="seed"
              name="seed"
              type="number"
              inputMode="numeric"
              min={0}
              max={LIMITS.seedMax}
              step={1}
              placeholder={values.seedMode === "random" ? "A new seed for every image" : "0 to 2^53-1"}
              disabled={values.seedMode !== "fixed"}
              value={values.seedMode === "fixed" ? values.seed : ""}
              onChange={(event) => onChange({ seed: event.target.value })}
            />
            <Button
              type="button"
              variant="outline"
              size="icon"
              aria-label="Pick a new random seed"
              title="Pick a new random seed"
              onClick={() => onChange({ seedMode: "fixed", seed: String(randomSeed()) })}
            >
              <Dices />
            </Button>
          </div>
        </fieldset>
      </CollapsibleContent>
    </Collapsible>
  );
}
