"use client";

import { AlertTriangle, CheckCircle2, Loader2, XCircle } from "lucide-react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { describeProblem } from "@/api/problem";
import type { ReadyState } from "./use-ready";

/** The header's one-line status of the api and its worker, from GET /ready. */
export function ModelStatusBadge({ ready, apiBaseUrl }: { ready: ReadyState; apiBaseUrl: string }) {
  let content;
  if (ready.state === "checking") {
    content = (
      <Badge variant="outline">
        <Loader2 aria-hidden="true" className="h-3 w-3 animate-spin" /> Checking the API at {apiBaseUrl}…
      </Badge>
    );
  } else if (ready.state === "ready") {
    const { model, device, dtype, demoModel } = ready.info;
    content = (
      <Badge variant={demoModel ? "warning" : "secondary"} title={`${model} on ${device} (${dtype})`}>
        <CheckCircle2 aria-hidden="true" className="h-3 w-3" /> Ready · {demoModel ? "demo model" : model} · {device}{" "}
        {dtype}
      </Badge>
    );
  } else {
    const unreachable = ready.problem.kind === "unreachable";
    content = (
      <Badge variant="destructive" title={describeProblem(ready.problem).message}>
        <XCircle aria-hidden="true" className="h-3 w-3" /> {unreachable ? "API unreachable" : "Worker not ready"}
      </Badge>
    );
  }
  return (
    <div role="status" aria-live="polite" data-testid="model-status" data-state={ready.state}>
      {content}
    </div>
  );
}

/** Said wherever a person looks: the demo model draws only its toy world, so a photo prompt is not a broken page. */
export function DemoModelNotice({ model, description }: { model: string; description: string }) {
  return (
    <Alert variant="warning" role="note" data-testid="demo-notice">
      <AlertTriangle aria-hidden="true" className="h-4 w-4" />
      <AlertTitle>Demo model</AlertTitle>
      <AlertDescription>
        The worker runs the built-in demo model ({model}), a small SDXL trained on a toy world.
        {description && ` It draws ${description}.`} Put SDXL weights in <code className="font-mono">models/</code> and
        set <code className="font-mono">PY_MODEL_PATH</code> for real pictures.
      </AlertDescription>
    </Alert>
  );
}

/** Why the api is not ready, shown under the header while GET /ready fails. */
export function NotReadyNotice({ ready }: { ready: ReadyState }) {
  if (ready.state !== "not-ready") return null;
  const { title, message } = describeProblem(ready.problem);
  return (
    <Alert variant="default" role="note" data-testid="not-ready-notice">
      <AlertTriangle aria-hidden="true" className="h-4 w-4" />
      <AlertTitle>{title}</AlertTitle>
      <AlertDescription>{message} The page checks again every few seconds.</AlertDescription>
    </Alert>
  );
}
