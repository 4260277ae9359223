// The page's side of the HTTP contract (issue 2): POST /generateimage, POST /generateimage/stream (issue 4) and
// GET /ready, with every failure turned into a Problem the page can show as it is.
import { readServerSentEvents, type EventSourceMessage } from "./sse";

/** The JSON body of POST /generateimage; an omitted field takes the worker's default for its model. */
export interface GenerateRequest {
  positivePrompt: string;
  negativePrompt?: string;
  width?: number;
  height?: number;
  steps?: number;
  guidanceScale?: number;
  seed?: number;
}

/** What the api reports it used, from the X-* headers of a 200 answer (exposed through CORS). */
export interface GenerationInfo {
  seed: number | null;
  width: number | null;
  height: number | null;
  steps: number | null;
  guidanceScale: number | null;
  model: string | null;
  demoModel: boolean | null;
  generationSeconds: number | null;
  filename: string | null;
}

export interface ReadyInfo {
  status: "ready";
  model: string;
  demoModel: boolean;
  device: string;
  dtype: string;
  defaults?: { width?: number; height?: number; steps?: number; guidanceScale?: number };
  queue?: { length?: number; capacity?: number };
}

/**
 * Everything that can go wrong, in the words the page shows. An `error` event inside a 200 stream is an api Problem
 * with `streamed` set and the status the unary route answers for its code, so both routes read alike.
 */
export type Problem =
  | { kind: "api"; status: number; code: string; message: string; retryAfter: string | null; streamed?: boolean }
  | { kind: "unreachable"; url: string; detail: string }
  | { kind: "cancelled" };

export type ReadyState =
  | { state: "checking" }
  | { state: "ready"; info: ReadyInfo }
  | { state: "not-ready"; problem: Problem };

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(describeProblem(problem).message);
    this.name = "ProblemError";
  }
}

/** A title and a sentence for a Problem: the api's own message first, since it names the field, limit and value. */
export function describeProblem(problem: Problem): { title: string; message: string } {
  switch (problem.kind) {
    case "unreachable":
      return {
        title: "Cannot reach the API",
        message:
          `Cannot reach the API at ${problem.url}. Is it running? ` +
          `(If it is, check that its API_CORS_ORIGINS allows this page's origin.)`,
      };
    case "cancelled":
      return { title: "Cancelled", message: "The request was cancelled." };
    case "api": {
      const retry = problem.retryAfter ? ` Try again in ${problem.retryAfter} s.` : "";
      const code = problem.code ? ` (${problem.code})` : "";
      return {
        title: problem.streamed ? `The generation failed${code}` : `The API answered ${problem.status}${code}`,
        message: `${problem.message}${retry}`,
      };
    }
  }
}

function numberHeader(headers: Headers, name: string): number | null {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === "") return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

function filenameFrom(disposition: string | null): string | null {
  const match = disposition?.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
  return match ? decodeURIComponent(match[1]) : null;
}

export function readGenerationInfo(headers: Headers): GenerationInfo {
  const demo = headers.get("X-Demo-Model");
  return {
    seed: numberHeader(headers, "X-Seed"),
    width: numberHeader(headers, "X-Width"),
    height: numberHeader(headers, "X-Height"),
    steps: numberHeader(headers, "X-Steps"),
    guidanceScale: numberHeader(headers, "X-Guidance-Scale"),
    model: headers.get("X-Model"),
    demoModel: demo === null ? null : ["true", "1", "yes"].includes(demo.toLowerCase()),
    generationSeconds: numberHeader(headers, "X-Generation-Seconds"),
    filename: filenameFrom(headers.get("Content-Disposition")),
  };
}

/** Turns a non-2xx answer into a Problem, whatever its body: {error, message} is the contract, anything else is shown raw. */
async function problemFromResponse(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => "");
  let code = "";
  let message = text.trim() || response.statusText || "No message in the answer.";
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object") {
      const record = body as Record<string, unknown>;
      if (typeof record.error === "string") code = record.error;
      if (typeof record.message === "string") message = record.message;
      else if (record.detail !== undefined) message = JSON.stringify(record.detail);
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): the text itself is the most useful thing to show.
  }
  return { kind: "api", status: response.status, code, message, retryAfter: response.headers.get("Retry-After") };
}

/** The api's key (WEB_API_KEY) as the Authorization header, on every call once the api has keys (issue 7). */
function withKey(init: RequestInit, apiKey: string | undefined): RequestInit {
  if (!apiKey) return init;
  const headers = { ...(init.headers as Record<string, string> | undefined), Authorization: `Bearer ${apiKey}` };
  return { ...init, headers };
}

async function send(url: string, baseUrl: string, init: RequestInit, apiKey?: string): Promise<Response> {
  try {
    return await fetch(url, withKey(init, apiKey));
  } catch (error) {
    if (init.signal?.aborted) throw new ProblemError({ kind: "cancelled" });
    // fetch rejects with a TypeError for a refused connection, a DNS failure and a CORS refusal alike.
    const detail = error instanceof Error ? error.message : String(error);
    throw new ProblemError({ kind: "unreachable", url: baseUrl, detail });
  }
}

export async function generateImage(
  baseUrl: string,
  request: GenerateRequest,
  signal?: AbortSignal,
  apiKey?: string,
): Promise<{ blob: Blob; info: GenerationInfo }> {
  const response = await send(
    `${baseUrl}/generateimage`,
    baseUrl,
    {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "image/png, application/json" },
      body: JSON.stringify(request),
      signal,
      cache: "no-store",
    },
    apiKey,
  );
  if (!response.ok) throw new ProblemError(await problemFromResponse(response));
  try {
    const blob = await response.blob();
    return { blob, info: readGenerationInfo(response.headers) };
  } catch (error) {
    if (signal?.aborted) throw new ProblemError({ kind: "cancelled" });
    throw new ProblemError({ kind: "unreachable", url: baseUrl, detail: String(error) });
  }
}

export async function checkReady(baseUrl: string, signal?: AbortSignal, apiKey?: string): Promise<ReadyState> {
  try {
    const response = await send(`${baseUrl}/ready`, baseUrl, { signal, cache: "no-store" }, apiKey);
    if (!response.ok) return { state: "not-ready", problem: await problemFromResponse(response) };
    return { state: "ready", info: (await response.json()) as ReadyInfo };
  } catch (error) {
    if (error instanceof ProblemError) return { state: "not-ready", problem: error.problem };
    throw error;
  }
}

// --- POST /generateimage/stream (issue 4) -----------------------------------------------------------------------

/** What the stream says before the image is done; `unary` means the api has no stream route and gives no progress. */
export type StreamEvent =
  | { type: "queued"; position: number; queueLength: number | null }
  | {
      type: "started";
      seed: number | null;
      width: number | null;
      height: number | null;
      steps: number | null;
      guidanceScale: number | null;
      queuedSeconds: number | null;
    }
  | { type: "progress"; step: number; steps: number; etaSeconds: number | null; preview: string | null }
  | { type: "unary" };

export interface GenerateResult {
  blob: Blob;
  info: GenerationInfo;
}

/** An `error` event's code → the status the unary route answers for it (api/errors.py), so the page treats both alike. */
export const STREAM_ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_value: 422,
  queue_full: 429,
  out_of_memory: 503,
  worker_unavailable: 503,
  worker_not_ready: 503,
  deadline_exceeded: 504,
  internal_error: 500,
};

type Json = Record<string, unknown>;

const num = (data: Json, key: string): number | null =>
  typeof data[key] === "number" && Number.isFinite(data[key]) ? (data[key] as number) : null;
const str = (data: Json, key: string): string | null => (typeof data[key] === "string" ? (data[key] as string) : null);

function badStream(message: string): ProblemError {
  return new ProblemError({ kind: "api", status: 502, code: "invalid_stream", message, retryAfter: null, streamed: true });
}

/** The page's reading of one SSE message: an event to show, the final image, a failure, or null for one it ignores. */
export type DecodedEvent =
  | StreamEvent
  | { type: "done"; image: string; info: GenerationInfo }
  | { type: "error"; problem: Problem }
  | null;

export function decodeStreamEvent(message: EventSourceMessage): DecodedEvent {
  const type = message.event ?? "message";
  if (!["queued", "started", "progress", "done", "error"].includes(type)) return null; // newer events, pings
  let data: Json;
  try {
    const parsed: unknown = JSON.parse(message.data);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    data = parsed as Json;
  } catch {
    throw badStream(`The API sent a '${type}' event whose data is not a JSON object: ${message.data.slice(0, 80)}`);
  }
  switch (type) {
    case "queued":
      return { type, position: num(data, "position") ?? 0, queueLength: num(data, "queueLength") };
    case "started":
      return {
        type,
        seed: num(data, "seed"),
        width: num(data, "width"),
        height: num(data, "height"),
        steps: num(data, "steps"),
        guidanceScale: num(data, "guidanceScale"),
        queuedSeconds: num(data, "queuedSeconds"),
      };
    case "progress": {
      const preview = str(data, "preview");
      return {
        type,
        step: num(data, "step") ?? 0,
        steps: num(data, "steps") ?? 0,
        etaSeconds: num(data, "etaSeconds"),
        preview: preview?.startsWith("data:image/") ? preview : null,
      };
    }
    case "done": {
      const image = str(data, "image");
      if (!image?.startsWith("data:")) throw badStream("The API's 'done' event has no image.");
      return {
        type,
        image,
        info: {
          seed: num(data, "seed"),
          width: num(data, "width"),
          height: num(data, "height"),
          steps: num(data, "steps"),
          guidanceScale: num(data, "guidanceScale"),
          model: str(data, "model"),
          demoModel: typeof data.demoModel === "boolean" ? data.demoModel : null,
          generationSeconds: num(data, "generationSeconds"),
          filename: str(data, "filename"),
        },
      };
    }
    default: {
      const code = str(data, "error") ?? "internal_error";
      const retryAfter = num(data, "retryAfter") ?? str(data, "retryAfter");
      return {
        type: "error",
        problem: {
          kind: "api",
          status: num(data, "status") ?? STREAM_ERROR_STATUS[code] ?? 500,
          code,
          message: str(data, "message") ?? "The API reported an error without a message.",
          retryAfter: retryAfter === null ? null : String(retryAfter),
          streamed: true,
        },
      };
    }
  }
}

/** A base64 (or percent-encoded) data: URL as a Blob, so the final image gets a blob: URL as the unary route's does. */
export function dataUrlToBlob(url: string): Blob {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma < 0) throw new Error("not a data: URL");
  const [type, ...params] = url.slice(5, comma).split(";");
  const payload = url.slice(comma + 1);
  const mime = type || "text/plain";
  if (!params.includes("base64")) return new Blob([decodeURIComponent(payload)], { type: mime });
  const binary = atob(payload);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type: mime });
}

/**
 * POST /generateimage/stream: reports queue position, steps and previews through `onEvent` and resolves with the
 * final image. Aborting `signal` closes the connection, which cancels the job on the worker. An api that has no
 * stream route (404, one from before issue 4) gets the same request on the unary route, without progress.
 */
export async function generateImageStream(
  baseUrl: string,
  request: GenerateRequest,
  onEvent: (event: StreamEvent) => void,
  signal?: AbortSignal,
  apiKey?: string,
): Promise<GenerateResult> {
  const response = await send(
    `${baseUrl}/generateimage/stream`,
    baseUrl,
    {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream, application/json" },
      body: JSON.stringify(request),
      signal,
      cache: "no-store",
    },
    apiKey,
  );
  if (response.status === 404) {
    await response.body?.cancel().catch(() => undefined);
    onEvent({ type: "unary" });
    return generateImage(baseUrl, request, signal, apiKey);
  }
  // Validation (422), body (400, 413, 415) and a full queue (429, with Retry-After) answer before any stream starts.
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
        throw new ProblemError({ kind: "unreachable", url: baseUrl, detail: `the stream broke off: ${detail}` });
      }
      if (next.done) break;
      const event = decodeStreamEvent(next.value);
      if (event === null) continue;
      if (event.type === "done") {
        try {
          return { blob: dataUrlToBlob(event.image), info: event.info };
        } catch {
          throw badStream("The API's 'done' event has an image that is not valid base64.");
        }
      }
      if (event.type === "error") throw new ProblemError(event.problem);
      onEvent(event);
    }
  } finally {
    await events.return(undefined);
  }
  if (signal?.aborted) throw new ProblemError({ kind: "cancelled" });
  throw badStream("The API closed the stream before the image was done.");
}
