// The page's side of the HTTP contract (issue 2): POST /generateimage and GET /ready, with every failure turned into
// a Problem the page can show as it is.

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

/** Everything that can go wrong, in the words the page shows. */
export type Problem =
  | { kind: "api"; status: number; code: string; message: string; retryAfter: string | null }
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
      return {
        title: `The API answered ${problem.status}${problem.code ? ` (${problem.code})` : ""}`,
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

async function send(url: string, baseUrl: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
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
): Promise<{ blob: Blob; info: GenerationInfo }> {
  const response = await send(`${baseUrl}/generateimage`, baseUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "image/png, application/json" },
    body: JSON.stringify(request),
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw new ProblemError(await problemFromResponse(response));
  try {
    const blob = await response.blob();
    return { blob, info: readGenerationInfo(response.headers) };
  } catch (error) {
    if (signal?.aborted) throw new ProblemError({ kind: "cancelled" });
    throw new ProblemError({ kind: "unreachable", url: baseUrl, detail: String(error) });
  }
}

export async function checkReady(baseUrl: string, signal?: AbortSignal): Promise<ReadyState> {
  try {
    const response = await send(`${baseUrl}/ready`, baseUrl, { signal, cache: "no-store" });
    if (!response.ok) return { state: "not-ready", problem: await problemFromResponse(response) };
    return { state: "ready", info: (await response.json()) as ReadyInfo };
  } catch (error) {
    if (error instanceof ProblemError) return { state: "not-ready", problem: error.problem };
    throw error;
  }
}
