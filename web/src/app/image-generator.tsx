"use client";

import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { Loader2, Sparkles, Square, XCircle } from "lucide-react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { Separator } from "@/components/ui/separator";
import { Textarea } from "@/components/ui/textarea";
import { AdvancedSettings } from "./advanced-settings";
import {
  ProblemError,
  checkReady,
  describeProblem,
  generateImageStream,
  type Problem,
  type ReadyState,
  type StreamEvent,
} from "./api";
import type { LiveState } from "./generation-progress";
import { HistoryStrip } from "./history-strip";
import { ImagePreview } from "./image-preview";
import { DemoModelNotice, ModelStatusBadge, NotReadyNotice } from "./model-status";
import { INITIAL_VALUES, previewRatio, toRequest, type FormValues, type GeneratedImage } from "./params";

// Each history entry holds a PNG in memory through its blob: URL; past this many the oldest are revoked.
const HISTORY_LIMIT = 12;
const READY_RETRY_MS = 3000;

export function ImageGenerator({ apiBaseUrl, apiKey }: { apiBaseUrl: string; apiKey?: string }) {
  const [values, setValues] = useState<FormValues>(INITIAL_VALUES);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const [ready, setReady] = useState<ReadyState>({ state: "checking" });
  const [readyCheck, setReadyCheck] = useState(0);
  const [history, setHistory] = useState<GeneratedImage[]>([]);
  const [currentId, setCurrentId] = useState<number | null>(null);
  const [running, setRunning] = useState(false);
  const [startedAt, setStartedAt] = useState(0);
  const [now, setNow] = useState(0);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [live, setLive] = useState<LiveState | null>(null);
  const [livePreview, setLivePreview] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState("");

  const formRef = useRef<HTMLFormElement>(null);
  const historyRef = useRef<GeneratedImage[]>([]);
  const runningRef = useRef(false);
  // The running request's controller; a request whose controller is no longer here was cancelled and is ignored.
  const abortRef = useRef<AbortController | null>(null);
  const nextIdRef = useRef(1);
  // Until the person edits a parameter, the worker's defaults from GET /ready replace SDXL's.
  const editedRef = useRef(false);

  // GET /ready on load, and again every few seconds until it answers 200 (the worker may still be warming up).
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const state = await checkReady(apiBaseUrl, controller.signal, apiKey);
      if (controller.signal.aborted) return;
      setReady(state);
      if (state.state === "ready") {
        const defaults = state.info.defaults;
        if (defaults && !editedRef.current) {
          setValues((v) => ({
            ...v,
            width: defaults.width !== undefined ? String(defaults.width) : v.width,
            height: defaults.height !== undefined ? String(defaults.height) : v.height,
            steps: defaults.steps !== undefined ? String(defaults.steps) : v.steps,
            guidanceScale: defaults.guidanceScale !== undefined ? String(defaults.guidanceScale) : v.guidanceScale,
          }));
        }
      } else {
        timer = setTimeout(poll, READY_RETRY_MS);
      }
    };
    void poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [apiBaseUrl, apiKey, readyCheck]);

  // The elapsed-time clock runs only while a request does.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(performance.now()), 100);
    return () => clearInterval(timer);
  }, [running]);

  // Blob URLs are revoked when their entry leaves the history and when the page goes away, never on a re-render.
  useEffect(() => {
    const entries = historyRef;
    return () => {
      for (const image of entries.current) URL.revokeObjectURL(image.url);
      entries.current = [];
      abortRef.current?.abort();
    };
  }, []);

  const updateValues = useCallback((patch: Partial<FormValues>) => {
    if (Object.keys(patch).some((key) => key !== "positivePrompt" && key !== "negativePrompt")) {
      editedRef.current = true;
    }
    setValues((v) => ({ ...v, ...patch }));
  }, []);

  const addToHistory = useCallback((image: GeneratedImage) => {
    const all = [image, ...historyRef.current];
    const dropped = all.slice(HISTORY_LIMIT);
    historyRef.current = all.slice(0, HISTORY_LIMIT);
    setHistory(historyRef.current);
    setCurrentId(image.id);
    for (const old of dropped) URL.revokeObjectURL(old.url);
  }, []);

  const finish = useCallback(() => {
    runningRef.current = false;
    abortRef.current = null;
    setRunning(false);
    setLive(null);
    setLivePreview(null);
  }, []);

  const onStreamEvent = useCallback((event: StreamEvent) => {
    switch (event.type) {
      case "queued":
        setLive({ phase: "queued", position: event.position, queueLength: event.queueLength });
        setAnnouncement(`Waiting: position ${event.position} in queue.`);
        break;
      case "started":
        setLive({ phase: "running", step: 0, steps: event.steps, etaSeconds: null });
        setAnnouncement("Generating the image…");
        break;
      case "progress":
        setLive({ phase: "running", step: event.step, steps: event.steps, etaSeconds: event.etaSeconds });
        if (event.preview) setLivePreview(event.preview);
        break;
      case "unary":
        setLive({ phase: "unary" });
        break;
    }
  }, []);

  const generate = useCallback(async () => {
    if (runningRef.current) return; // one request at a time, whatever clicks or keys arrive meanwhile
    runningRef.current = true;
    const controller = new AbortController();
    abortRef.current = controller;
    const isCurrent = () => abortRef.current === controller;
    const started = performance.now();
    const sent = values;
    setRunning(true);
    setStartedAt(started);
    setNow(started);
    setProblem(null);
    setLive({ phase: "sending" });
    setLivePreview(null);
    setAnnouncement("Generating the image…");
    try {
      const { blob, info } = await generateImageStream(
        apiBaseUrl,
        toRequest(sent),
        (event) => {
          if (isCurrent()) onStreamEvent(event);
        },
        controller.signal,
        apiKey,
      );
      if (!isCurrent()) return; // cancelled just as the image arrived: the person asked for nothing
      const elapsedMs = performance.now() - started;
      addToHistory({
        id: nextIdRef.current++,
        url: URL.createObjectURL(blob),
        sizeBytes: blob.size,
        values: sent,
        info,
        elapsedMs,
      });
      setAnnouncement(`Image generated in ${(elapsedMs / 1000).toFixed(1)} seconds, seed ${info.seed ?? "unknown"}.`);
    } catch (error) {
      if (!isCurrent()) return; // cancel() has already said so and made the page ready
      const found: Problem =
        error instanceof ProblemError
          ? error.problem
          : { kind: "api", status: 0, code: "client_error", message: String(error), retryAfter: null };
      setProblem(found);
      setAnnouncement("");
      // A worker or api that went away shows in the header too; check again so it clears once they are back.
      if (found.kind === "unreachable" || (found.kind === "api" && found.status === 503)) {
        setReadyCheck((n) => n + 1);
      }
    } finally {
      if (isCurrent()) finish();
    }
  }, [apiBaseUrl, apiKey, values, addToHistory, onStreamEvent, finish]);

  // Closing the connection cancels the job on the worker (issue 4); the page does not wait for the fetch to unwind.
  const cancel = useCallback(() => {
    const controller = abortRef.current;
    if (!controller) return;
    finish();
    controller.abort();
    setProblem({ kind: "cancelled" });
    setAnnouncement("Cancelled.");
  }, [finish]);

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void generate();
  };

  const onPromptKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      formRef.current?.requestSubmit();
    }
  };

  const showImage = (image: GeneratedImage) => {
    setCurrentId(image.id);
    editedRef.current = true;
    // Its parameters come back too, with its seed fixed, so Generate makes the same picture again.
    setValues({
      ...image.values,
      width: String(image.info.width ?? image.values.width),
      height: String(image.info.height ?? image.values.height),
      steps: String(image.info.steps ?? image.values.steps),
      guidanceScale: String(image.info.guidanceScale ?? image.values.guidanceScale),
      seedMode: image.info.seed !== null ? "fixed" : image.values.seedMode,
      seed: image.info.seed !== null ? String(image.info.seed) : image.values.seed,
    });
  };

  const current = history.find((image) => image.id === currentId) ?? null;
  const elapsedMs = running ? Math.max(0, now - startedAt) : 0;
  const ratio = previewRatio(values, current?.info.width && current.info.height ? current.info.width / current.info.height : 1);
  // GET /ready says which model runs; while it cannot be asked, the shown image's X-Demo-Model header still tells.
  let demoModel: string | null = null;
  if (ready.state === "ready") demoModel = ready.info.demoModel ? ready.info.model : null;
  else if (current?.info.demoModel) demoModel = current.info.model ?? "demo";
  const shownProblem = problem && problem.kind !== "cancelled" ? describeProblem(problem) : null;
  const unavailable = problem?.kind === "unreachable" || (problem?.kind === "api" && problem.status === 503);

  return (
    <div className="container max-w-6xl space-y-6 py-6">
      <header className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">img-generator</h1>
          <p className="text-sm text-muted-foreground">Text to image with Stable Diffusion XL</p>
        </div>
        <ModelStatusBadge ready={ready} apiBaseUrl={apiBaseUrl} />
      </header>

      {demoModel !== null && <DemoModelNotice model={demoModel} />}
      {/* Said once: when Generate just failed for the same reason, its own alert already tells. */}
      {!unavailable && <NotReadyNotice ready={ready} />}

      <Separator />

      <main className="grid gap-8 md:grid-cols-2">
        <form ref={formRef} onSubmit={onSubmit} noValidate aria-label="Image parameters" className="space-y-5">
          {/* noValidate: the browser's own checks would hide the api's messages, which name field, limit and value. */}
          <div className="space-y-2">
            <Label htmlFor="positive-prompt">Prompt</Label>
            <Textarea
              id="positive-prompt"
              name="positivePrompt"
              rows={5}
              placeholder="a lighthouse at dusk, oil painting"
              value={values.positivePrompt}
              onChange={(event) => updateValues({ positivePrompt: event.target.value })}
              onKeyDown={onPromptKeyDown}
              aria-describedby="prompt-hint"
              aria-required="true"
            />
          </div>
          <div className="space-y-2">
            <Label htmlFor="negative-prompt">Negative prompt</Label>
            <Textarea
              id="negative-prompt"
              name="negativePrompt"
              rows={3}
              placeholder="blurry, low quality"
              value={values.negativePrompt}
              onChange={(event) => updateValues({ negativePrompt: event.target.value })}
              onKeyDown={onPromptKeyDown}
              aria-describedby="prompt-hint"
            />
            <p id="prompt-hint" className="text-xs text-muted-foreground">
              Ctrl+Enter (⌘+Enter on a Mac) in either prompt generates.
            </p>
          </div>

          <AdvancedSettings values={values} onChange={updateValues} open={advancedOpen} onOpenChange={setAdvancedOpen} />

          <div className="flex items-center gap-2">
            <Button type="submit" size="lg" className="flex-1" disabled={running} aria-busy={running}>
              {running ? (
                <>
                  <Loader2 aria-hidden="true" className="animate-spin" />
                  <span>Generating…</span>
                  <span data-testid="elapsed" className="font-mono tabular-nums">
                    {(elapsedMs / 1000).toFixed(1)} s
                  </span>
                </>
              ) : (
                <>
                  <Sparkles aria-hidden="true" />
                  Generate
                </>
              )}
            </Button>
            {running && (
              <Button type="button" variant="outline" size="lg" onClick={cancel}>
                <Square aria-hidden="true" />
                Cancel
              </Button>
            )}
          </div>

          {problem?.kind === "cancelled" && (
            <p data-testid="cancelled-note" className="text-sm text-muted-foreground">
              Cancelled.
            </p>
          )}
          {shownProblem && (
            <Alert variant="destructive" data-testid="generate-error">
              <XCircle aria-hidden="true" className="h-4 w-4" />
              <AlertTitle>{shownProblem.title}</AlertTitle>
              <AlertDescription data-testid="generate-error-message">{shownProblem.message}</AlertDescription>
            </Alert>
          )}
          <p className="sr-only" role="status" aria-live="polite">
            {announcement}
          </p>
        </form>

        <section aria-label="Preview" className="space-y-4">
          <ImagePreview
            ratio={ratio}
            requestedSize={`${values.width || "?"} × ${values.height || "?"}`}
            image={current}
            running={running}
            elapsedMs={elapsedMs}
            live={live}
            livePreview={livePreview}
            onReuseSeed={(seed) => updateValues({ seedMode: "fixed", seed: String(seed) })}
          />
        </section>
      </main>

      <Separator />

      <HistoryStrip images={history} currentId={currentId} onSelect={showImage} />
    </div>
  );
}
