// The page's calls to the api (issues 2, 4): GET /ready, GET /samplers and POST /generateimage/stream, every
// failure a Problem.
import { ProblemError, problemFromResponse } from "./problem";
import { readServerSentEvents, type EventSourceMessage } from "./sse";
import { dataUrlToBlob } from "./data-url";
import { BadStreamError, decodeStreamEvent, type GenerationInfo, type StreamEvent } from "./stream-events";
import type { GenerateRequest, ReadyInfo, SamplerInfo } from "./types";

export interface ApiTarget {
  baseUrl: string;
  /** The page's key (WEB_API_KEY), sent as a Bearer token once the api has keys (issue 7). */
  apiKey?: string;
}

/** One image of a request and the seed that makes it alone. */
export interface ResultImage {
  blob: Blob;
  seed: number | null;
}

export interface GenerateResult {
  /** The first image (`images[0].blob`). */
  blob: Blob;
  /** Every image of the request in seed order (count > 1 makes several); never empty. */
  images: ResultImage[];
  info: GenerationInfo;
}

function withKey(init: RequestInit, apiKey: string | undefined): RequestInit {
  if (!apiKey) return init;
  const headers = { ...(init.headers as Record<string, string> | undefined), Authorization: `Bearer ${apiKey}` };
  return { ...init, headers };
}

/** One call to the api; a refused connection, a CORS refusal or an abort is a ProblemError. */
export async function send(target: ApiTarget, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(`${target.baseUrl}${path}`, withKey(init, target.apiKey));
  } catch (error) {
    if (init.signal?.aborted) throw new ProblemError({ kind: "cancelled" });
    // fetch rejects with a TypeError for a refused connection, a DNS failure and a CORS refusal alike.
    const detail = error instanceof Error ? error.message : String(error);
    throw new ProblemError({ kind: "unreachable", url: target.baseUrl, detail });
  }
}

/** GET /ready: the worker's model and defaults, or a ProblemError saying why it is not ready. */
export async function fetchReady(target: ApiTarget, signal?: AbortSignal): Promise<ReadyInfo> {
  const response = await send(target, "/ready", { signal, cache: "no-store" });
  if (!response.ok) throw new ProblemError(await problemFromResponse(response));
  return (await response.json()) as ReadyInfo;
}

/** GET /samplers: every sampler a request may name (A1111's names), with the schedule types each takes. */
export async function fetchSamplers(target: ApiTarget, signal?: AbortSignal): Promise<SamplerInfo[]> {
  const response = await send(target, "/samplers", { signal });
  if (!response.ok) throw new ProblemError(await problemFromResponse(response));
  const body: unknown = await response.json();
  if (!Array.isArray(body)) throw new ProblemError({ kind: "bad-stream", message: "GET /samplers is not a list." });
  return body.filter(
    (entry): entry is SamplerInfo =>
      !!entry && typeof entry.name === "string" && Array.isArray(entry.scheduleTypes) && Array.isArray(entry.aliases),
  );
}

const badStream = (message: string) => new ProblemError({ kind: "bad-stream", message });

/**
 * POST /generateimage/stream: reports queue position, steps and previews through `onEvent` and resolves with the
 * final image. Aborting `signal` closes the connection, which cancels the job on the worker.
 */
export async function generateImageStream(
  target: ApiTarget,
  request: GenerateRequest,
  onEvent: (event: StreamEvent) => void,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  const response = await send(target, "/generateimage/stream", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream, application/json" },
    body: JSON.stringify(request),
    signal,
    cache: "no-store",
  });
  // Validation (422), body (400, 413, 415), a full queue (429, with Retry-After) answer before any stream starts.
  if (!response.ok) throw new ProblemError(await problemFromResponse(response));
  if (!response.body) throw badStream("The API answered 200 without a body.");

  const events = readServerSentEvents(response.body);
  try {
    for (;;) {
      let next: IteratorResult<EventSourceMessage>;
      try {
        next = await events.next();
      } catch (error) {
        // The read failed: our own abort, or the connection lost (the api stopped, a proxy timed out).
        if (signal?.aborted) throw new ProblemError({ kind: "cancelled" });
        const detail = error instanceof Error ? error.message : String(error);
        throw new ProblemError({ kind: "unreachable", url: target.baseUrl, detail: `the stream broke off: ${detail}` });
      }
      if (next.done) break;
      let event;
      try {
        event = decodeStreamEvent(next.value);
      } catch (error) {
        if (error instanceof BadStreamError) throw badStream(error.message);
        throw error;
      }
      if (event === null) continue;
      if (event.type === "error") throw new ProblemError(event.problem);
      if (event.type === "done") {
        try {
          const images = event.images.map(({ image, seed }) => ({ blob: dataUrlToBlob(image), seed }));
          return { blob: images[0].blob, images, info: event.info };
        } catch {
          throw badStream("The API's 'done' event has an image that is not valid base64.");
        }
      }
      onEvent(event);
    }
  } finally {
    await events.return(undefined);
  }
  if (signal?.aborted) throw new ProblemError({ kind: "cancelled" });
  throw badStream("The API closed the stream before the image was done.");
}
