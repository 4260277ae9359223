// Server-Sent Events from a fetch() body (issue 4): EventSource cannot POST a JSON body, so the page reads the stream
// itself. eventsource-parser does the line protocol (event:/data:/id:, multi-line data, `:` comments, CR/LF/CRLF,
// lines split across chunks); this module only turns bytes into its input and its callbacks into an async iterator.
import { createParser, type EventSourceMessage } from "eventsource-parser";

export type { EventSourceMessage };

/**
 * The messages of an SSE body, in order, as they arrive. Comments (keep-alive pings) are skipped. An event that the
 * stream ends in the middle of is dropped, as the SSE spec says. Stops, and releases the body, when the caller
 * stops iterating; a read error (the fetch aborted, the connection lost) is thrown from the loop.
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<EventSourceMessage, void, undefined> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message) });
  // stream: true keeps a UTF-8 character whose bytes straddle two chunks whole.
  const decoder = new TextDecoder("utf-8");
  const reader = body.getReader();
  let endsWithCr = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (text) endsWithCr = text.endsWith("\r");
      parser.feed(text);
      // The parser holds a final CR in case an LF follows in the next chunk; at the end none will, so it is a line
      // end on its own (an LF completes it as CRLF, never adding a blank line).
      if (done && endsWithCr) parser.feed("\n");
      while (pending.length > 0) yield pending.shift() as EventSourceMessage;
      if (done) return;
    }
  } finally {
    // Early exit (a `done` event, an exception in the caller): cancel the body so the connection closes.
    await reader.cancel().catch(() => undefined);
  }
}
