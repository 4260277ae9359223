"use client";

import { Plus, X } from "lucide-react";
import { useState } from "react";

import { LIMITS } from "@/api/limits";
import type { LibraryLora } from "@/api/types";
import { SliderNumberField } from "@/components/slider-number-field";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { NativeSelect } from "@/components/ui/native-select";
import type { FormValues, LoraEntry } from "@/features/generate/form-values";
import { isKnownLora, type LorasState } from "./use-loras";

// The slider moves in twentieths; the number input takes any weight the api allows.
const WEIGHT_SLIDER_STEP = 0.05;

interface LoraPickerProps {
  value: FormValues["loras"];
  onChange: (patch: Partial<FormValues>) => void;
  library: LorasState;
}

/** "alias (name)" when the alias says something the name does not. */
export function loraLabel(lora: LibraryLora): string {
  return lora.alias && lora.alias !== lora.name ? `${lora.alias} (${lora.name})` : lora.name;
}

function LoraRow(props: { entry: LoraEntry; index: number; known: boolean | undefined; onWeight: (w: string) => void; onRemove: () => void }) {
  const { entry, index, known, onWeight, onRemove } = props;
  const { min, max, step } = LIMITS.loraWeight;
  return (
    <li className="rounded-md border px-3 py-2" data-testid="lora-entry" data-name={entry.name}>
      <SliderNumberField
        id={`lora-weight-${index}`}
        name={`loras.${index}.weight`}
        label={entry.name}
        value={entry.weight}
        onChange={onWeight}
        min={min}
        max={max}
        step={step}
        sliderStep={WEIGHT_SLIDER_STEP}
        hint={
          <>
            {known === false && (
              <Badge variant="destructive" className="mr-2" data-testid="lora-unknown">
                not in models/loras/
              </Badge>
            )}
            Weight, {min} to {max}: 1 as trained, 0 as if it were not there.
          </>
        }
        actions={
          <Button type="button" variant="ghost" size="icon" className="h-8 w-8" aria-label={`Remove ${entry.name}`} onClick={onRemove}>
            <X aria-hidden="true" />
          </Button>
        }
      />
    </li>
  );
}

/** LoRAs for the request (GET /loras), each with its weight; sent as `loras`. Tags in the prompt add to them. */
export function LoraPicker({ value, onChange, library }: LoraPickerProps) {
  const { loras, failed } = library;
  const [choice, setChoice] = useState("");
  const available = (loras ?? []).filter((lora) => !value.some((entry) => entry.name === lora.name));
  const full = value.length >= LIMITS.loras.maxItems;
  const picked = available.some((lora) => lora.name === choice) ? choice : "";

  const set = (next: LoraEntry[]) => onChange({ loras: next });
  const add = () => {
    if (!picked || full) return;
    set([...value, { name: picked, weight: String(LIMITS.loraWeight.default) }]);
    setChoice("");
  };

  return (
    <div role="group" aria-labelledby="loras-legend" className="space-y-2" data-testid="lora-picker">
      <span id="loras-legend" className="block text-sm font-medium leading-none">
        LoRAs
      </span>
      {value.length > 0 && (
        <ul className="space-y-2" aria-label="LoRAs of the request">
          {value.map((entry, index) => (
            <LoraRow
              key={`${index}:${entry.name}`}
              entry={entry}
              index={index}
              known={isKnownLora(loras, entry.name)}
              onWeight={(weight) => set(value.map((e, i) => (i === index ? { ...e, weight } : e)))}
              onRemove={() => set(value.filter((_, i) => i !== index))}
            />
          ))}
        </ul>
      )}
      {failed && <p className="text-xs text-muted-foreground">The API&apos;s list of LoRAs could not be read.</p>}
      {!failed && loras === undefined && <p className="text-xs text-muted-foreground">Reading the LoRAs…</p>}
      {loras?.length === 0 && (
        <p data-testid="loras-empty" className="text-sm text-muted-foreground">
          No LoRAs in <code className="font-mono">models/loras/</code>
        </p>
      )}
      {loras !== undefined && loras.length > 0 && (
        <div className="flex items-center gap-2">
          <div className="flex-1">
            <NativeSelect
              aria-label="LoRA to add"
              value={picked}
              onChange={(event) => setChoice(event.target.value)}
              disabled={full || available.length === 0}
              aria-describedby="loras-hint"
            >
              <option value="">{available.length === 0 ? "Every LoRA is added" : "Choose a LoRA…"}</option>
              {available.map((lora) => (
                <option key={lora.name} value={lora.name}>
                  {loraLabel(lora)}
                </option>
              ))}
            </NativeSelect>
          </div>
          <Button type="button" variant="outline" onClick={add} disabled={!picked || full}>
            <Plus aria-hidden="true" />
            Add
          </Button>
        </div>
      )}
      <p id="loras-hint" className="text-xs text-muted-foreground">
        Up to {LIMITS.loras.maxItems} here; <code className="font-mono">&lt;lora:name:weight&gt;</code> in the prompt adds
        more.
      </p>
    </div>
  );
}
