// Everything that can go wrong with a call to the api, in the words the page shows: the api's own message first,
// since it names the field, the limit and the value (docs/architecture.md, "One error path").
import type { ErrorResponse } from "./types";

export type Problem =
  /** The api answered an error: `status` is its HTTP status, null for an `error` event inside a 200 stream. */
  | {
      kind: "api";
      status: number | null;
      code: string;
      message: string;
      /** When a retry may succeed (Retry-After, or the error event's retryAfter), as a wall-clock time in ms. */
      retryAt: number | null;
    }
  /** fetch() failed: a refused connection, a DNS failure, a CORS refusal, a stream that broke off. */
  | { kind: "unreachable"; url: string; detail: string }
  /** The api answered something the page cannot read as its contract. */
  | { kind: "bad-stream"; message: string }
  | { kind: "cancelled" };

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(describeProblem(problem).message);
    this.name = "ProblemError";
  }
}

/** Seconds (Retry-After: 12, retryAfter: 12) or an HTTP date (Retry-After: Wed, 21 Oct 2026 07:28:00 GMT) as a time. */
export function retryAtFrom(value: unknown, now = Date.now()): number | null {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? now + value * 1000 : null;
  if (typeof value !== "string" || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? now + seconds * 1000 : null;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : date;
}

function clock(time: number): string {
  return new Date(time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** "Try again in 12 s (at 14:03:21)." for a problem that says when; "" otherwise. */
export function retryText(retryAt: number | null, now = Date.now()): string {
  if (retryAt === null) return "";
  const seconds = Math.max(1, Math.ceil((retryAt - now) / 1000));
  return `Try again in ${seconds} s (at ${clock(retryAt)}).`;
}

/** A title and a sentence for a Problem. */
export function describeProblem(problem: Problem, now = Date.now()): { title: string; message: string } {
  switch (problem.kind) {
    case "unreachable":
      return {
        title: "Cannot reach the API",
        message:
          `Cannot reach the API at ${problem.url}. Is it running? ` +
          `(If it is, check that its API_CORS_ORIGINS allows this page's origin.)`,
      };
    case "bad-stream":
      return { title: "The API's answer could not be read", message: problem.message };
    case "cancelled":
      return { title: "Cancelled", message: "The request was cancelled." };
    case "api": {
      const retry = retryText(problem.retryAt, now);
      const code = problem.code ? ` (${problem.code})` : "";
      return {
        title: problem.status === null ? `The generation failed${code}` : `The API answered ${problem.status}${code}`,
        message: retry ? `${problem.message} ${retry}` : problem.message,
      };
    }
  }
}

/** A non-2xx answer as a Problem, whatever its body: {error, message} is the contract, anything else is shown raw. */
export async function problemFromResponse(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => "");
  let code = "";
  let message = text.trim() || response.statusText || "No message in the answer.";
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object") {
      const record = body as Partial<Record<keyof ErrorResponse | "detail", unknown>>;
      if (typeof record.error === "string") code = record.error;
      if (typeof record.message === "string") message = record.message;
      else if (record.detail !== undefined) message = JSON.stringify(record.detail);
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): the text itself is the most useful thing to show.
  }
  return {
    kind: "api",
    status: response.status,
    code,
    message,
    retryAt: retryAtFrom(response.headers.get("Retry-After")),
  };
}
