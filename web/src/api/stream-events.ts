// The events of POST /generateimage/stream (issue 4) and the page's reading of one SSE message. Each event's
// fields are the api's Stream* models (types.ts, generated from its OpenAPI schema), so a field the api renames
// breaks this file's build; every value is checked as it is read and is null when the api sent none.
import type { Problem } from "./problem";
import { retryAtFrom } from "./problem";
import type { EventSourceMessage } from "./sse";
import type { StreamDone, StreamProgress, StreamQueued, StreamStarted } from "./types";

/** A wire model as the page holds it: every field present, null where the api sent none. */
type Read<T> = { [K in keyof T]-?: Exclude<T[K], undefined> | null };

export type QueuedEvent = { type: "queued" } & Read<StreamQueued> & { position: number };

export type StartedEvent = { type: "started" } & Read<StreamStarted>;

export type ProgressEvent = { type: "progress" } & Read<StreamProgress> & { step: number; steps: number };

/** What the worker used for the image, from the `done` event; `filename` is what Download names the file. */
export type GenerationInfo = Read<Omit<StreamDone, "image" | "worker">>;

export interface DoneEvent {
  type: "done";
  /** The image as a data: URL. */
  image: string;
  info: GenerationInfo;
}

export interface ErrorEvent {
  type: "error";
  problem: Problem;
}

/** What the stream says before the image is done. */
export type StreamEvent = QueuedEvent | StartedEvent | ProgressEvent;

/** One SSE message as the page reads it: an event to show, the final image, a failure, or null for one it ignores. */
export type DecodedEvent = StreamEvent | DoneEvent | ErrorEvent | null;

const KNOWN = new Set(["queued", "started", "progress", "done", "error"]);

type Json = Record<string, unknown>;

const num = (data: Json, key: string): number | null =>
  typeof data[key] === "number" && Number.isFinite(data[key]) ? (data[key] as number) : null;
const str = (data: Json, key: string): string | null => (typeof data[key] === "string" ? (data[key] as string) : null);

export class BadStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadStreamError";
  }
}

function parseObject(type: string, raw: string): Json {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Json;
  } catch {
    // reported below, with the data that came
  }
  throw new BadStreamError(`The API sent a '${type}' event whose data is not a JSON object: ${raw.slice(0, 80)}`);
}

function doneInfo(data: Json): GenerationInfo {
  return {
    seed: num(data, "seed"),
    width: num(data, "width"),
    height: num(data, "height"),
    steps: num(data, "steps"),
    guidanceScale: num(data, "guidanceScale"),
    model: str(data, "model"),
    demoModel: typeof data.demoModel === "boolean" ? data.demoModel : null,
    generationSeconds: num(data, "generationSeconds"),
    filename: str(data, "filename"),
  };
}

/** Reads one SSE message; throws BadStreamError for a known event the page cannot read. */
export function decodeStreamEvent(message: EventSourceMessage, now = Date.now()): DecodedEvent {
  const type = message.event ?? "message";
  if (!KNOWN.has(type)) return null; // newer events, pings
  const data = parseObject(type, message.data);
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
        // Anything but an image data: URL is dropped rather than put in an <img>.
        preview: preview?.startsWith("data:image/") ? preview : null,
      };
    }
    case "done": {
      const image = str(data, "image");
      if (!image?.startsWith("data:")) throw new BadStreamError("The API's 'done' event has no image.");
      return { type, image, info: doneInfo(data) };
    }
    default:
      // {"error": code, "message": text, "retryAfter"?: seconds}: the codes of the unary route's error bodies.
      return {
        type: "error",
        problem: {
          kind: "api",
          status: null,
          code: str(data, "error") ?? "internal_error",
          message: str(data, "message") ?? "The API reported an error without a message.",
          retryAt: retryAtFrom(data.retryAfter, now),
        },
      };
  }
}

/** A base64 (or percent-encoded) data: URL as a Blob, so the final image gets a blob: URL. */
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
