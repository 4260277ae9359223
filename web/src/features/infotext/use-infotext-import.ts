// An image file dropped or pasted onto the page (or chosen with the button): its A1111 parameters, read in the
// browser, fill the form. One at a time; what came of it is the notice the page shows.
import { useCallback, useEffect, useRef, useState } from "react";

import type { FormValues } from "@/features/generate/form-values";
import { imageKind, readImageInfotext } from "./image-infotext";
import { parseInfotext, type Infotext } from "./infotext";
import type { InfotextValues } from "./infotext-to-form";

export type ImportNotice =
  | { kind: "reading"; file: string }
  | { kind: "applied"; file: string; notes: string[] }
  | { kind: "failed"; file: string; message: string };

/** The first file of a drop or paste, if any. */
const firstFile = (data: DataTransfer | null): File | null => data?.files?.[0] ?? null;

const nameOf = (file: File) => file.name || "the pasted image";

/** The infotext inside the file, or why there is none, in the words the page shows. */
async function readFile(file: File): Promise<{ text: string } | { problem: string }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (imageKind(bytes) === null) return { problem: `${nameOf(file)} is not a PNG, JPEG or WebP image.` };
  const text = await readImageInfotext(bytes);
  return text?.trim() ? { text } : { problem: `${nameOf(file)} holds no AUTOMATIC1111 parameters.` };
}

/**
 * `toValues` maps an infotext to the form (it knows the samplers and the model's default); `apply` puts the values
 * in. Listens for drops and pastes of files anywhere on the page; a paste of text is left to the field it goes in.
 * `divert`, when it returns true, has taken a dropped or pasted file for something else (image to image's init image).
 */
export function useInfotextImport(
  toValues: (info: Infotext) => InfotextValues,
  apply: (patch: Partial<FormValues>) => void,
  divert?: (file: File) => boolean,
) {
  const [notice, setNotice] = useState<ImportNotice | null>(null);
  const [dragging, setDragging] = useState(false);
  // The latest callbacks, for listeners registered once.
  const latest = useRef({ toValues, apply, divert });
  useEffect(() => {
    latest.current = { toValues, apply, divert };
  }, [toValues, apply, divert]);

  const importFile = useCallback(async (file: File) => {
    const name = nameOf(file);
    setNotice({ kind: "reading", file: name });
    try {
      const read = await readFile(file);
      if ("problem" in read) {
        setNotice({ kind: "failed", file: name, message: read.problem });
        return;
      }
      const { patch, notes } = latest.current.toValues(parseInfotext(read.text));
      latest.current.apply(patch);
      setNotice({ kind: "applied", file: name, notes });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      setNotice({ kind: "failed", file: name, message: `${name} could not be read: ${detail}` });
    }
  }, []);

  useEffect(() => {
    const hasFiles = (event: DragEvent) => Array.from(event.dataTransfer?.types ?? []).includes("Files");
    const onDragOver = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault(); // without this the browser opens the file instead of dropping it here
      setDragging(true);
    };
    const onDragLeave = (event: DragEvent) => {
      if (event.relatedTarget === null) setDragging(false);
    };
    const onDrop = (event: DragEvent) => {
      setDragging(false);
      const file = firstFile(event.dataTransfer);
      if (!file) return;
      event.preventDefault();
      if (!latest.current.divert?.(file)) void importFile(file);
    };
    const onPaste = (event: ClipboardEvent) => {
      const file = firstFile(event.clipboardData);
      if (!file) return;
      event.preventDefault();
      if (!latest.current.divert?.(file)) void importFile(file);
    };
    window.addEventListener("dragover", onDragOver);
    window.addEventListener("dragleave", onDragLeave);
    window.addEventListener("drop", onDrop);
    window.addEventListener("paste", onPaste);
    return () => {
      window.removeEventListener("dragover", onDragOver);
      window.removeEventListener("dragleave", onDragLeave);
      window.removeEventListener("drop", onDrop);
      window.removeEventListener("paste", onPaste);
    };
  }, [importFile]);

  /** Values read elsewhere (a gallery image's Reuse), put in and reported as a file's are. */
  const applyValues = useCallback((name: string, { patch, notes }: InfotextValues) => {
    latest.current.apply(patch);
    setNotice({ kind: "applied", file: name, notes });
  }, []);

  const dismiss = useCallback(() => setNotice(null), []);
  return { notice, dragging, importFile, applyValues, dismiss };
}
