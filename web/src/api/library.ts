// The model library's calls (issue 13): GET /models, POST /models/refresh and GET /loras, every failure a Problem.
// Requests name models and LoRAs by these names, never by a path (docs/architecture.md, "Names, never paths").
import { send, type ApiTarget } from "./client";
import { ProblemError, problemFromResponse } from "./problem";
import type { LibraryLora, LibraryModel } from "./types";

type Json = Record<string, unknown>;

/** A JSON list answer's entries that `keep` accepts; anything but a list is a bad answer. */
async function list<T>(response: Response, what: string, keep: (entry: Json) => boolean): Promise<T[]> {
  if (!response.ok) throw new ProblemError(await problemFromResponse(response));
  const body: unknown = await response.json();
  if (!Array.isArray(body)) throw new ProblemError({ kind: "bad-stream", message: `${what} is not a list.` });
  return body.filter((entry): entry is T => !!entry && typeof entry === "object" && keep(entry as Json));
}

const isModel = (entry: Json) => typeof entry.name === "string" && typeof entry.title === "string";
const isLora = (entry: Json) => typeof entry.name === "string";

/** GET /models: every model a request may name, the demo model and the default among them. */
export async function fetchModels(target: ApiTarget, signal?: AbortSignal): Promise<LibraryModel[]> {
  return list(await send(target, "/models", { signal, cache: "no-store" }), "GET /models", isModel);
}

/** POST /models/refresh: every worker scans its library again (models and LoRAs); the new model list. */
export async function refreshModels(target: ApiTarget): Promise<LibraryModel[]> {
  return list(await send(target, "/models/refresh", { method: "POST" }), "POST /models/refresh", isModel);
}

/** GET /loras: every LoRA a request may name (`loras`, or a `<lora:name:weight>` tag); may be empty. */
export async function fetchLoras(target: ApiTarget, signal?: AbortSignal): Promise<LibraryLora[]> {
  return list(await send(target, "/loras", { signal, cache: "no-store" }), "GET /loras", isLora);
}
