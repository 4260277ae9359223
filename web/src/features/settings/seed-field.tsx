"use client";

import { Dices } from "lucide-react";

import { LIMITS } from "@/api/limits";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group";
import { randomSeed, type FormValues, type SeedMode } from "@/features/generate/form-values";

interface SeedFieldProps {
  values: Pick<FormValues, "seedMode" | "seed">;
  onChange: (patch: Partial<FormValues>) => void;
}

/** Random (a new seed for every image) or Fixed (the same seed, the same picture), and a die for a new one. */
export function SeedField({ values, onChange }: SeedFieldProps) {
  const fixed = values.seedMode === "fixed";
  return (
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
          min={LIMITS.seed.min}
          max={LIMITS.seed.max}
          step={LIMITS.seed.step}
          placeholder={fixed ? `${LIMITS.seed.min} to ${LIMITS.seed.max}` : "A new seed for every image"}
          disabled={!fixed}
          value={fixed ? values.seed : ""}
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
  );
}
