// The form's state: what the person typed over the worker's defaults from GET /ready.
import { useCallback, useMemo, useState } from "react";

import type { ModelDefaults } from "@/api/types";
import { EMPTY_VALUES, defaultsToValues, type FormValues } from "./form-values";

/**
 * A field the person has not touched shows the worker's default (SDXL base: 1024×1024, 30 steps, guidance 7; the
 * demo model its own), so the defaults arriving late, or changing with the model, never overwrite a typed value.
 */
export function useFormValues(defaults: ModelDefaults | undefined) {
  const [edits, setEdits] = useState<Partial<FormValues>>({});
  const values = useMemo<FormValues>(
    () => ({ ...EMPTY_VALUES, ...defaultsToValues(defaults), ...edits }),
    [defaults, edits],
  );
  const update = useCallback((patch: Partial<FormValues>) => setEdits((current) => ({ ...current, ...patch })), []);
  const replace = useCallback((next: FormValues) => setEdits(next), []);
  /** What the person set (or an image of the history brought back), over the defaults. */
  return { values, edits, update, replace };
}
