// Reading the infotext out of real image files (src/features/infotext/image-infotext.ts). The fixtures are the
// worker's own encoder's output (worker/encode.py, Encoder().encode(pixels, format, infotext) on 8x8 pixels):
// PNG with tEXt (Latin-1) and iTXt (other text), JPEG and WebP with piexif's UNICODE UserComment.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { expect, test } from "@playwright/test";

import { decodeUserComment, imageKind, readImageInfotext } from "../src/features/infotext/image-infotext";
import { pngText } from "../src/features/infotext/png-text";

const FIXTURES = join(__dirname, "fixtures");
const EXPECTED = JSON.parse(readFileSync(join(FIXTURES, "infotexts.json"), "utf8")) as Record<string, string>;
const bytes = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));

for (const name of Object.keys(EXPECTED)) {
  test(`reads the A1111 parameters the worker wrote into ${name}`, async () => {
    expect(await readImageInfotext(bytes(name))).toBe(EXPECTED[name]);
  });
}

test("tells PNG, JPEG and WebP by their first bytes, and reads nothing from other files", async () => {
  expect(["lighthouse.png", "unicode.jpg", "unicode.webp"].map((name) => imageKind(bytes(name)))).toEqual(["png", "jpeg", "webp"]);
  const text = new TextEncoder().encode("Steps: 5, Seed: 1, Size: 8x8");
  expect(imageKind(text)).toBeNull();
  expect(await readImageInfotext(text)).toBeNull();
  expect(await pngText(bytes("lighthouse.png"), "Comment")).toBeNull();
});

test("a compressed iTXt chunk is inflated", async () => {
  const text = "ein Leuchtturm ✓\nSteps: 2, Seed: 3, Size: 8x8";
  const deflated = new Uint8Array(
    await new Response(new Blob([new TextEncoder().encode(text)]).stream().pipeThrough(new CompressionStream("deflate"))).arrayBuffer(),
  );
  const data = new Uint8Array([...new TextEncoder().encode("parameters"), 0, 1, 0, 0, 0, ...deflated]);
  const chunk = new Uint8Array(12 + data.length);
  new DataView(chunk.buffer).setUint32(0, data.length);
  chunk.set(new TextEncoder().encode("iTXt"), 4);
  chunk.set(data, 8); // the CRC is not checked
  const png = bytes("lighthouse.png");
  const withChunk = new Uint8Array([...png.subarray(0, 33), ...chunk, ...png.subarray(33)]);
  // The file's own tEXt comes later, so the first "parameters" chunk is the compressed one.
  expect(await pngText(withChunk, "parameters")).toBe(text);
});

test("a UNICODE UserComment is read in either byte order; ASCII and undefined codes as text", () => {
  const utf16 = (text: string, littleEndian: boolean) => {
    const out = new Uint8Array(text.length * 2);
    const view = new DataView(out.buffer);
    for (let i = 0; i < text.length; i++) view.setUint16(i * 2, text.charCodeAt(i), littleEndian);
    return out;
  };
  const header = new TextEncoder().encode("UNICODE\0");
  for (const littleEndian of [false, true]) {
    expect(decodeUserComment(new Uint8Array([...header, ...utf16("a cat, «x»\nSteps: 2", littleEndian)]))).toBe("a cat, «x»\nSteps: 2");
  }
  expect(decodeUserComment(new Uint8Array([...new TextEncoder().encode("ASCII\0\0\0a dog"), 0]))).toBe("a dog");
  expect(decodeUserComment(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode("a fox")]))).toBe("a fox");
  expect(decodeUserComment("already text")).toBe("already text");
  expect(decodeUserComment(42)).toBeNull();
});
