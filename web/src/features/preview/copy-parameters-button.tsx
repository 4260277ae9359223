"use client";

import { Check, ClipboardCopy } from "lucide-react";
import { useEffect, useState } from "react";

import { Button } from "@/components/ui/button";

// How long the button says "Copied" (or why not) before it reads "Copy parameters" again.
const FEEDBACK_MS = 2000;

type CopyState = "idle" | "copied" | "failed";

/** Copies the image's A1111 infotext, exactly what its file holds, for A1111's "PNG Info" or a prompt library. */
export function CopyParametersButton({ infotext }: { infotext: string }) {
  const [state, setState] = useState<CopyState>("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), FEEDBACK_MS);
    return () => clearTimeout(timer);
  }, [state]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(infotext);
      setState("copied");
    } catch {
      // No clipboard (a page over plain http on another host) or permission refused.
      setState("failed");
    }
  };

  return (
    <Button
      type="button"
      variant="outline"
      onClick={copy}
      data-testid="copy-parameters"
      data-state={state}
      title={infotext}
    >
      {state === "copied" ? <Check aria-hidden="true" /> : <ClipboardCopy aria-hidden="true" />}
      {state === "copied" ? "Copied" : state === "failed" ? "Could not copy" : "Copy parameters"}
    </Button>
  );
}
