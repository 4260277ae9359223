// generateImageStream and its helpers against a fake fetch: the page's reading of POST /generateimage/stream.
import { expect, test } from "@playwright/test";

import { generateImageStream as generate, type ApiTarget } from "../src/api/client";
import { ProblemError, describeProblem, type Problem } from "../src/api/problem";
import { dataUrlToBlob, decodeStreamEvent, type StreamEvent } from "../src/api/stream-events";
import type { GenerateRequest } from "../src/api/types";

const BASE = "http://api.test";

const generateImageStream = (
  baseUrl: string,
  request: GenerateRequest,
  onEvent: (event: StreamEvent) => void,
  signal?: AbortSignal,
  apiKey?: string,
) => generate({ baseUrl, apiKey } satisfies ApiTarget, request, onEvent, signal);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 128]);
const PNG_URL = `data:image/png;base64,${Buffer.from(PNG).toString("base64")}`;
const REQUEST = { positivePrompt: "a lighthouse", width: 512, height: 512, steps: 3 };

const sse = (event: string, data: unknown) => `event: ${event}\r\ndata: ${JSON.stringify(data)}\r\n\r\n`;

const DONE = {
  image: PNG_URL,
  seed: 42,
  width: 512,
  height: 512,
  steps: 3,
  guidanceScale: 7,
  model: "demo-sdxl",
  demoModel: true,
  generationSeconds: 1.25,
  filename: "img-42.png",
  worker: "vm:50051",
  sampler: "DPM++ 2M",
  scheduleType: "Karras",
  infotext: "a lighthouse\nSteps: 3, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x512",
  loras: [{ name: "style/ink", weight: 0.8 }],
  denoisingStrength: null,
  maskBlur: null,
  images: [{ image: PNG_URL, seed: 42 }],
};

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

/** Runs `body` with fetch replaced by `handler`, returning the URLs fetched. */
async function withFetch<T>(handler: Handler, body: () => Promise<T>): Promise<{ result: T; urls: string[] }> {
  const original = globalThis.fetch;
  const urls: string[] = [];
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    urls.push(url);
    if (init?.signal?.aborted) throw new DOMException("The operation was aborted.", "AbortError");
    return handler(url, init ?? {});
  }) as typeof fetch;
  try {
    return { result: await body(), urls };
  } finally {
    globalThis.fetch = original;
  }
}

function streamResponse(chunks: string[]): Response {
  return new Response(chunks.join(""), { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

async function problemOf(promise: Promise<unknown>): Promise<Problem> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProblemError) return error.problem;
    throw error;
  }
  throw new Error("expected a ProblemError");
}

test("reports queued, started and progress in order and resolves with the done event's image and values", async () => {
  const events: StreamEvent[] = [];
  const { result, urls } = await withFetch(
    () =>
      streamResponse([
        sse("queued", { position: 2, queueLength: 2 }),
        sse("queued", { position: 1, queueLength: 1 }),
        ": ping\r\n\r\n",
        sse("started", {
          seed: 42,
          width: 512,
          height: 512,
          steps: 3,
          guidanceScale: 7,
          queuedSeconds: 0.5,
          sampler: "DPM++ 2M",
          scheduleType: "Karras",
          count: 1,
        }),
        sse("progress", { step: 1, steps: 3, etaSeconds: 2 }),
        sse("progress", { step: 2, steps: 3, etaSeconds: 1, imageIndex: 0, imageCount: 1, preview: "data:image/jpeg;base64,/9j/" }),
        sse("some-future-event", { x: 1 }),
        sse("progress", { step: 3, steps: 3, etaSeconds: 0 }),
        sse("done", DONE),
      ]),
    () => generateImageStream(BASE, REQUEST, (event) => events.push(event)),
  );
  expect(urls).toEqual([`${BASE}/generateimage/stream`]);
  expect(events).toEqual([
    { type: "queued", position: 2, queueLength: 2 },
    { type: "queued", position: 1, queueLength: 1 },
    {
      type: "started",
      seed: 42,
      width: 512,
      height: 512,
      steps: 3,
      guidanceScale: 7,
      queuedSeconds: 0.5,
      sampler: "DPM++ 2M",
      scheduleType: "Karras",
      count: 1,
    },
    // An api that sends no imageIndex or imageCount makes one image.
    { type: "progress", step: 1, steps: 3, etaSeconds: 2, imageIndex: 0, imageCount: 1, preview: null },
    { type: "progress", step: 2, steps: 3, etaSeconds: 1, imageIndex: 0, imageCount: 1, preview: "data:image/jpeg;base64,/9j/" },
    { type: "progress", step: 3, steps: 3, etaSeconds: 0, imageIndex: 0, imageCount: 1, preview: null },
  ]);
  expect(result.blob.type).toBe("image/png");
  expect(new Uint8Array(await result.blob.arrayBuffer())).toEqual(PNG);
  expect(result.info).toEqual({
    seed: 42,
    width: 512,
    height: 512,
    steps: 3,
    guidanceScale: 7,
    model: "demo-sdxl",
    demoModel: true,
    generationSeconds: 1.25,
    filename: "img-42.png",
    sampler: "DPM++ 2M",
    scheduleType: "Karras",
    infotext: DONE.infotext,
    denoisingStrength: null,
    maskBlur: null,
    loras: [{ name: "style/ink", weight: 0.8 }],
  });
  expect(result.images).toHaveLength(1);
  expect(result.images[0].seed).toBe(42);
});

test("a request for several images resolves with all of them in seed order, dropping any that is not an image", async () => {
  const other = `data:image/png;base64,${Buffer.from([0x89, 0x50, 1, 2]).toString("base64")}`;
  const events: StreamEvent[] = [];
  const { result } = await withFetch(
    () =>
      streamResponse([
        sse("progress", { step: 1, steps: 2, etaSeconds: 1, imageIndex: 1, imageCount: 3 }),
        sse("done", {
          ...DONE,
          images: [
            { image: PNG_URL, seed: 42 },
            { image: "javascript:alert(1)", seed: 43 },
            { image: other, seed: 44 },
            "not an object",
          ],
        }),
      ]),
    () => generateImageStream(BASE, { ...REQUEST, count: 3 }, (event) => events.push(event)),
  );
  expect(events).toEqual([{ type: "progress", step: 1, steps: 2, etaSeconds: 1, imageIndex: 1, imageCount: 3, preview: null }]);
  expect(result.images.map((image) => image.seed)).toEqual([42, 44]);
  expect(new Uint8Array(await result.images[1].blob.arrayBuffer())).toEqual(Uint8Array.from([0x89, 0x50, 1, 2]));
  expect(result.blob).toBe(result.images[0].blob);

  // An api from before `images` sends only `image`: that is the one image, with the event's seed.
  const { images, info } = decodeStreamEvent({ event: "done", data: JSON.stringify({ ...DONE, images: undefined }) }) as {
    images: unknown;
    info: { seed: number };
  };
  expect(images).toEqual([{ image: PNG_URL, seed: 42 }]);
  expect(info.seed).toBe(42);
});

test("sends the same JSON body as the unary route, asking for an event stream", async () => {
  let sent: RequestInit | undefined;
  await withFetch(
    (_url, init) => {
      sent = init;
      return streamResponse([sse("done", DONE)]);
    },
    () => generateImageStream(BASE, REQUEST, () => undefined),
  );
  expect(sent?.method).toBe("POST");
  expect(JSON.parse(String(sent?.body))).toEqual(REQUEST);
  expect(new Headers(sent?.headers).get("Accept")).toContain("text/event-stream");
  expect(new Headers(sent?.headers).get("Content-Type")).toBe("application/json");
});

test("an error event is the api's problem: its code and message, no HTTP status, the stream's last word", async () => {
  const events: StreamEvent[] = [];
  const problem = await problemOf(
    withFetch(
      () =>
        streamResponse([
          sse("queued", { position: 1, queueLength: 1 }),
          sse("error", { error: "deadline_exceeded", message: "the request took longer than 300 s" }),
          sse("done", DONE), // never read: error is the last event
        ]),
      () => generateImageStream(BASE, REQUEST, (event) => events.push(event)),
    ),
  );
  expect(problem).toEqual({
    kind: "api",
    status: null,
    code: "deadline_exceeded",
    message: "the request took longer than 300 s",
    retryAt: null,
  });
  expect(describeProblem(problem).title).toBe("The generation failed (deadline_exceeded)");
  expect(events).toHaveLength(1);
});

test("queue_full arrives either as an error event with retryAfter or as a plain 429 with Retry-After", async () => {
  const before = Date.now();
  const inStream = await problemOf(
    withFetch(
      () =>
        streamResponse([sse("error", { error: "queue_full", message: "the queue is full (4 of 4)", retryAfter: 5 })]),
      () => generateImageStream(BASE, REQUEST, () => undefined),
    ),
  );
  expect(inStream).toMatchObject({ kind: "api", status: null, code: "queue_full" });
  const streamedAt = (inStream as { retryAt: number }).retryAt;
  expect(streamedAt).toBeGreaterThanOrEqual(before + 5000);
  expect(streamedAt).toBeLessThanOrEqual(Date.now() + 5000);

  const refused = await problemOf(
    withFetch(
      () =>
        new Response(JSON.stringify({ error: "queue_full", message: "the queue is full (4 of 4)" }), {
          status: 429,
          headers: { "Content-Type": "application/json", "Retry-After": "12" },
        }),
      () => generateImageStream(BASE, REQUEST, () => undefined),
    ),
  );
  expect(refused).toMatchObject({ kind: "api", status: 429, code: "queue_full", message: "the queue is full (4 of 4)" });
  const retryAt = (refused as { retryAt: number }).retryAt;
  expect(describeProblem(refused, retryAt - 12_000).message).toMatch(
    /^the queue is full \(4 of 4\) Try again in 12 s \(at .+\)\.$/,
  );
});

test("a 422 before the stream is shown with the api's status, code and message", async () => {
  const problem = await problemOf(
    withFetch(
      () =>
        new Response(JSON.stringify({ error: "invalid_value", message: "width must be a multiple of 8 (got 260)" }), {
          status: 422,
          headers: { "Content-Type": "application/json" },
        }),
      () => generateImageStream(BASE, REQUEST, () => undefined),
    ),
  );
  expect(problem).toEqual({
    kind: "api",
    status: 422,
    code: "invalid_value",
    message: "width must be a multiple of 8 (got 260)",
    retryAt: null,
  });
  expect(describeProblem(problem).title).toBe("The API answered 422 (invalid_value)");
});

test("an api without the stream route (404) is its error, with no second request", async () => {
  const { result: problem, urls } = await withFetch(
    () => new Response(JSON.stringify({ error: "not_found", message: "no route" }), { status: 404 }),
    () => problemOf(generateImageStream(BASE, REQUEST, () => undefined)),
  );
  expect(urls).toEqual([`${BASE}/generateimage/stream`]);
  expect(problem).toMatchObject({ kind: "api", status: 404, code: "not_found", message: "no route" });
});

test("a stream that ends without done or error is a problem, not a hang", async () => {
  const problem = await problemOf(
    withFetch(
      () => streamResponse([sse("progress", { step: 1, steps: 3, etaSeconds: 2 })]),
      () => generateImageStream(BASE, REQUEST, () => undefined),
    ),
  );
  expect(problem.kind).toBe("bad-stream");
  expect(describeProblem(problem).message).toMatch(/closed the stream before the image was done/);
});

test("a refused connection is 'unreachable', and so is a stream that breaks off", async () => {
  const refused = await problemOf(
    withFetch(
      () => {
        throw new TypeError("Failed to fetch");
      },
      () => generateImageStream(BASE, REQUEST, () => undefined),
    ),
  );
  expect(refused).toEqual({ kind: "unreachable", url: BASE, detail: "Failed to fetch" });

  const encoder = new TextEncoder();
  let sent = false;
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(encoder.encode(sse("progress", { step: 1, steps: 3, etaSeconds: 2 })));
      } else {
        controller.error(new TypeError("network error"));
      }
    },
  });
  const lost = await problemOf(
    withFetch(
      () => new Response(broken, { status: 200, headers: { "Content-Type": "text/event-stream" } }),
      () => generateImageStream(BASE, REQUEST, () => undefined),
    ),
  );
  expect(lost).toMatchObject({ kind: "unreachable", url: BASE });
});

test("aborting mid-stream is 'cancelled', however far the stream had got", async () => {
  const controller = new AbortController();
  const encoder = new TextEncoder();
  const events: StreamEvent[] = [];
  const problem = await problemOf(
    withFetch(
      (_url, init) => {
        const body = new ReadableStream<Uint8Array>({
          start(stream) {
            stream.enqueue(encoder.encode(sse("progress", { step: 1, steps: 40, etaSeconds: 9 })));
            // As fetch does: aborting the request errors its body.
            init.signal?.addEventListener("abort", () => stream.error(new DOMException("aborted", "AbortError")));
          },
        });
        return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
      },
      () =>
        generateImageStream(
          BASE,
          REQUEST,
          (event) => {
            events.push(event);
            controller.abort(); // Cancel pressed after the first step
          },
          controller.signal,
        ),
    ),
  );
  expect(problem).toEqual({ kind: "cancelled" });
  expect(events).toHaveLength(1);
});

test("decodeStreamEvent ignores unknown events and refuses known ones whose data is not a JSON object", () => {
  expect(decodeStreamEvent({ event: "heartbeat", data: "x" })).toBeNull();
  expect(decodeStreamEvent({ event: undefined, data: "{}" })).toBeNull();
  expect(() => decodeStreamEvent({ event: "progress", data: "not json" })).toThrow(/not a JSON object/);
  expect(() => decodeStreamEvent({ event: "done", data: "[1]" })).toThrow(/not a JSON object/);
  expect(() => decodeStreamEvent({ event: "done", data: '{"seed": 1}' })).toThrow(/has no image/);
  // A preview that is not an image data: URL is dropped rather than put in an <img>.
  expect(decodeStreamEvent({ event: "progress", data: '{"step": 1, "steps": 2, "preview": "javascript:x"}' })).toEqual({
    type: "progress",
    step: 1,
    steps: 2,
    etaSeconds: null,
    imageIndex: 0,
    imageCount: 1,
    preview: null,
  });
});

test("dataUrlToBlob decodes base64 and percent-encoded data: URLs with their type", async () => {
  const png = dataUrlToBlob(PNG_URL);
  expect(png.type).toBe("image/png");
  expect(new Uint8Array(await png.arrayBuffer())).toEqual(PNG);
  const text = dataUrlToBlob("data:,hello%20world");
  expect(text.type).toBe("text/plain");
  expect(await text.text()).toBe("hello world");
  expect(() => dataUrlToBlob("blob:http://x/1")).toThrow(/not a data: URL/);
});

test("sends the api key as a Bearer Authorization header when the page has one, and none otherwise", async () => {
  const sent: (string | null)[] = [];
  const record: Handler = (_url, init) => {
    sent.push(new Headers(init.headers).get("Authorization"));
    return streamResponse([sse("done", DONE)]);
  };
  await withFetch(record, () => generateImageStream(BASE, REQUEST, () => undefined, undefined, "page-key-1"));
  await withFetch(record, () => generateImageStream(BASE, REQUEST, () => undefined));
  expect(sent).toEqual(["Bearer page-key-1", null]);
});
