// readServerSentEvents: bytes from a fetch() body to SSE messages, whatever the chunking (src/api/sse.ts).
import { expect, test } from "@playwright/test";

import { readServerSentEvents, type EventSourceMessage } from "../src/api/sse";

const encoder = new TextEncoder();

/** A body that delivers `chunks` one read at a time, recording whether the reader cancelled it. */
function body(chunks: (string | Uint8Array)[], options: { failAfter?: boolean } = {}) {
  const state = { cancelled: false };
  let index = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index < chunks.length) {
        const chunk = chunks[index++];
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      } else if (options.failAfter) {
        controller.error(new TypeError("network error"));
      } else {
        controller.close();
      }
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

async function collect(chunks: (string | Uint8Array)[]): Promise<EventSourceMessage[]> {
  const messages: EventSourceMessage[] = [];
  for await (const message of readServerSentEvents(body(chunks).stream)) messages.push(message);
  return messages;
}

const plain = (messages: EventSourceMessage[]) => messages.map(({ event, data }) => ({ event, data }));

// What sse-starlette writes: CRLF line ends, a `: ping` comment, JSON data.
const STARLETTE =
  'event: queued\r\ndata: {"position": 2, "queueLength": 2}\r\n\r\n' +
  ": ping - 2025-01-01 00:00:00.000000+00:00\r\n\r\n" +
  'event: progress\r\ndata: {"step": 1, "steps": 40, "etaSeconds": 3.9}\r\n\r\n' +
  'event: done\r\ndata: {"image": "data:image/png;base64,iVBORw0KGgo="}\r\n\r\n';
const EXPECTED = [
  { event: "queued", data: '{"position": 2, "queueLength": 2}' },
  { event: "progress", data: '{"step": 1, "steps": 40, "etaSeconds": 3.9}' },
  { event: "done", data: '{"image": "data:image/png;base64,iVBORw0KGgo="}' },
];

test("reads named events with JSON data and skips comments (pings)", async () => {
  expect(plain(await collect([STARLETTE]))).toEqual(EXPECTED);
});

test("gives the same events however the chunks split the lines, one byte at a time included", async () => {
  const bytes = encoder.encode(STARLETTE);
  expect(plain(await collect(Array.from(bytes, (b) => new Uint8Array([b]))))).toEqual(EXPECTED);
  for (let cut = 1; cut < bytes.length; cut++) {
    expect(plain(await collect([bytes.slice(0, cut), bytes.slice(cut)])), `split at byte ${cut}`).toEqual(EXPECTED);
  }
});

test("accepts LF, CR and CRLF line ends alike", async () => {
  for (const eol of ["\n", "\r", "\r\n"]) {
    const text = STARLETTE.replaceAll("\r\n", eol);
    expect(plain(await collect([text])), JSON.stringify(eol)).toEqual(EXPECTED);
  }
});

test("joins multi-line data with newlines and strips one space after the colon", async () => {
  const messages = await collect(["event: note\ndata: first\ndata:second\ndata:  third\n\n"]);
  expect(plain(messages)).toEqual([{ event: "note", data: "first\nsecond\n third" }]);
});

test("an event without a name has no event field, and ids are kept", async () => {
  const messages = await collect(["id: 7\ndata: hello\n\n"]);
  expect(messages).toEqual([{ id: "7", event: undefined, data: "hello" }]);
});

test("keeps a UTF-8 character whole when its bytes straddle two chunks", async () => {
  const bytes = encoder.encode('event: x\ndata: "lighthouse – 灯台"\n\n');
  const dash = bytes.indexOf(0xe2); // the first byte of "–" (3 bytes)
  const messages = await collect([bytes.slice(0, dash + 1), bytes.slice(dash + 1, dash + 2), bytes.slice(dash + 2)]);
  expect(plain(messages)).toEqual([{ event: "x", data: '"lighthouse – 灯台"' }]);
});

test("drops an event the stream ends in the middle of", async () => {
  expect(plain(await collect(["event: a\ndata: 1\n\nevent: b\ndata: 2\n"]))).toEqual([{ event: "a", data: "1" }]);
});

test("stopping early cancels the body, so the connection closes", async () => {
  const { stream, state } = body(["event: a\ndata: 1\n\n", "event: b\ndata: 2\n\n"]);
  for await (const message of readServerSentEvents(stream)) {
    expect(message.event).toBe("a");
    break;
  }
  expect(state.cancelled).toBe(true);
});

test("a read error (connection lost) comes out of the loop after the events before it", async () => {
  const { stream } = body(["event: a\ndata: 1\n\n"], { failAfter: true });
  const seen: string[] = [];
  await expect(async () => {
    for await (const message of readServerSentEvents(stream)) seen.push(message.data);
  }).rejects.toThrow("network error");
  expect(seen).toEqual(["1"]);
});

test("a CR at the very end is a line end, yet a lone line end does not finish an event", async () => {
  expect(plain(await collect(["data: 1\r\r"]))).toEqual([{ event: undefined, data: "1" }]);
  expect(plain(await collect(["data: 1\r", "\r"]))).toEqual([{ event: undefined, data: "1" }]);
  expect(plain(await collect(["data: 1\r"]))).toEqual([]);
  expect(plain(await collect(["data: 1\r", "\n"]))).toEqual([]);
});
