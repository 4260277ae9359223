"use client";

import { Loader2, RefreshCw } from "lucide-react";

import type { LibraryModel } from "@/api/types";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group";
import type { FormValues } from "@/features/generate/form-values";
import type { ModelsState } from "./use-models";

interface ModelPickerProps {
  value: FormValues["model"];
  onChange: (patch: Partial<FormValues>) => void;
  library: ModelsState;
}

/** One model of the list: its name, its short hash when known, and what it is (demo, default, in memory). */
function ModelOption({ model, value, index }: { model: LibraryModel; value: string; index: number }) {
  const id = `model-${index}`;
  return (
    <div
      className="flex items-center gap-3 rounded-md border px-3 py-2 has-[[data-state=checked]]:border-primary"
      data-testid="model-option"
      data-name={model.name}
      title={model.title}
    >
      <RadioGroupItem value={value} id={id} />
      <Label htmlFor={id} className="flex min-w-0 flex-1 flex-wrap items-center gap-x-2 gap-y-1 font-normal">
        <span className="break-all font-medium">{model.name}</span>
        {model.hash && <span className="font-mono text-xs text-muted-foreground">[{model.hash}]</span>}
        {model.demo && <Badge variant="warning">demo</Badge>}
        {model.default && <Badge variant="secondary">default</Badge>}
        {model.loaded && <span className="text-xs text-muted-foreground">in memory</span>}
      </Label>
    </div>
  );
}

/** A name the form holds that the library does not list (an earlier image's model, since removed). */
const missing = (name: string): LibraryModel => ({
  name,
  title: `${name} (not in the library)`,
  hash: null,
  kind: "file",
  loaded: false,
  default: false,
  demo: false,
});

/**
 * The models of GET /models, the default one first chosen: it is the form's "", which sends no `model`; any other
 * sends its name. Refresh has every worker scan its library again (POST /models/refresh), LoRAs included.
 */
export function ModelPicker({ value, onChange, library }: ModelPickerProps) {
  const { models, defaultModel, failed, refresh, refreshing, refreshError } = library;
  const shown = [...(models ?? [])];
  const chosen = value === "" ? (defaultModel?.name ?? "") : value;
  if (value !== "" && models && !models.some((m) => m.name === value)) shown.push(missing(value));
  // The default's radio value is "" so that choosing it sends nothing.
  const radioValue = (model: LibraryModel) => (model.name === defaultModel?.name ? "" : model.name);
  let note = "The default model is used unless you choose another.";
  if (failed) note = "The API's list of models could not be read: the default model is used.";
  else if (!models) note = "Reading the model library…";
  else if (models.length === 0) note = "The library lists no models: the worker's default is used.";

  return (
    <div role="group" aria-labelledby="model-legend" className="space-y-2" data-testid="model-picker">
      <div className="flex items-center justify-between gap-2">
        <span id="model-legend" className="text-sm font-medium leading-none">
          Model
        </span>
        <Button
          type="button"
          variant="outline"
          size="sm"
          onClick={refresh}
          disabled={refreshing}
          aria-busy={refreshing}
          title="Scan the model library again: models and LoRAs added or removed"
        >
          {refreshing ? <Loader2 aria-hidden="true" className="animate-spin" /> : <RefreshCw aria-hidden="true" />}
          Refresh
        </Button>
      </div>
      {shown.length > 0 && (
        <RadioGroup
          value={radioValue(shown.find((m) => m.name === chosen) ?? missing(chosen))}
          onValueChange={(next) => onChange({ model: next })}
          aria-labelledby="model-legend"
          aria-describedby="model-hint"
          className="max-h-56 overflow-y-auto"
        >
          {shown.map((model, index) => (
            <ModelOption key={model.name} model={model} value={radioValue(model)} index={index} />
          ))}
        </RadioGroup>
      )}
      <p id="model-hint" className="text-xs text-muted-foreground">
        {note}
      </p>
      {refreshError && (
        <p role="alert" data-testid="models-refresh-error" className="text-xs text-destructive">
          Refresh failed: {refreshError}
        </p>
      )}
    </div>
  );
}
