// The events of POST /generateimage/stream (issue 4) and the page's reading of one SSE message. Each event's
// fields are the api's Stream* models (types.ts, generated from its OpenAPI schema), so a field the api renames
// breaks this file's build; every value is checked as it is read and is null when the api sent none.
import type { Problem } from "./problem";
import { retryAtFrom } from "./problem";
import type { EventSourceMessage } from "./sse";

export { dataUrlToBlob } from "./data-url";
import type { StreamDone, StreamImage, StreamProgress, StreamQueued, StreamStarted } from "./types";

/** A wire model as the page holds it: every field present, null where the api sent none. */
type Read<T> = { [K in keyof T]-?: Exclude<T[K], undefined> | null };

export type QueuedEvent = { type: "queued" } & Read<StreamQueued> & { position: number };

export type StartedEvent = { type: "started" } & Read<StreamStarted>;

export type ProgressEvent = { type: "progress" } & Read<StreamProgress> & {
    step: number;
    steps: number;
    imageIndex: number;
    imageCount: number;
  };

/**
 * What the worker used for the image, from the `done` event; `filename` is what Download names the file and
 * `infotext` the A1111 parameters written inside it (both the first image's, when a request made several).
 */
// imageId (the gallery's) is not read by this page yet.
export type GenerationInfo = Read<Omit<StreamDone, "image" | "images" | "worker" | "loras" | "imageId">> & {
  /** The LoRAs applied (the request's and its prompt tags'), each with its weight; [] for none. */
  loras: AppliedLora[];
};

/** A LoRA the worker applied, and the weight it applied it with (StreamDone's entry, the weight filled in). */
export type AppliedLora = Required<StreamDone["loras"][number]>;

/** One image of a request: a data: URL and the seed that makes it alone. */
export type DoneImage = Read<Omit<StreamImage, "imageId">> & { image: string };

export interface DoneEvent {
  type: "done";
  /** The first image as a data: URL. */
  image: string;
  /** Every image of the request in seed order, the first one included; never empty. */
  images: DoneImage[];
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
// Anything but an image data: URL is dropped rather than put in an <img>.
const imageUrl = (value: string | null): string | null => (value?.startsWith("data:image/") ? value : null);

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
    sampler: str(data, "sampler"),
    scheduleType: str(data, "scheduleType"),
    infotext: str(data, "infotext"),
    denoisingStrength: num(data, "denoisingStrength"),
    maskBlur: num(data, "maskBlur"),
    loras: doneLoras(data),
  };
}

/** `loras`: the entries with a name, in order; a weight the api left out is its default, 1. */
function doneLoras(data: Json): AppliedLora[] {
  const loras: AppliedLora[] = [];
  for (const entry of Array.isArray(data.loras) ? data.loras : []) {
    if (!entry || typeof entry !== "object") continue;
    const name = str(entry as Json, "name");
    if (name !== null) loras.push({ name, weight: num(entry as Json, "weight") ?? 1 });
  }
  return loras;
}

/** `images`: the entries with an image data: URL, in order; an api that sends none has only `image`, seed `seed`. */
function doneImages(data: Json, image: string, seed: number | null): DoneImage[] {
  const images: DoneImage[] = [];
  for (const entry of Array.isArray(data.images) ? data.images : []) {
    if (!entry || typeof entry !== "object") continue;
    const url = imageUrl(str(entry as Json, "image"));
    if (url !== null) images.push({ image: url, seed: num(entry as Json, "seed") });
  }
  return images.length > 0 ? images : [{ image, seed }];
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
        sampler: str(data, "sampler"),
        scheduleType: str(data, "scheduleType"),
        count: num(data, "count"),
      };
    case "progress":
      return {
        type,
        step: num(data, "step") ?? 0,
        steps: num(data, "steps") ?? 0,
        etaSeconds: num(data, "etaSeconds"),
        imageIndex: num(data, "imageIndex") ?? 0,
        imageCount: num(data, "imageCount") ?? 1,
        preview: imageUrl(str(data, "preview")),
      };
    case "done": {
      const image = str(data, "image");
      if (!image?.startsWith("data:")) throw new BadStreamError("The API's 'done' event has no image.");
      const info = doneInfo(data);
      return { type, image, images: doneImages(data, image, info.seed), info };
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
