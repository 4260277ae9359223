// PNG text chunks (tEXt, zTXt, iTXt) by keyword: where A1111 and the worker (worker/encode.py) put the infotext,
// under "parameters": tEXt for Latin-1 text, uncompressed iTXt (UTF-8) for any other. exifr reads tEXt only, and
// as UTF-8, so the page reads the chunks itself. http://www.libpng.org/pub/png/spec/1.2/PNG-Chunks.html
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// Length, type and CRC around each chunk's data.
const CHUNK_OVERHEAD = 12;

export const isPng = (bytes: Uint8Array) => SIGNATURE.every((byte, i) => bytes[i] === byte);

/** Bytes as ISO-8859-1, each byte one code point (TextDecoder's "latin1" is windows-1252, which differs). */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  const SLICE = 8192;
  for (let i = 0; i < bytes.length; i += SLICE) text += String.fromCharCode(...bytes.subarray(i, i + SLICE));
  return text;
}

const utf8 = (bytes: Uint8Array) => new TextDecoder("utf-8").decode(bytes);

/** zlib-deflated bytes (zTXt, compressed iTXt), inflated with the platform's DecompressionStream. */
async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function chunkText(type: string, data: Uint8Array, keyword: string): Promise<string | null> {
  if (type !== "tEXt" && type !== "zTXt" && type !== "iTXt") return null;
  const end = data.indexOf(0);
  if (end < 0 || latin1(data.subarray(0, end)) !== keyword) return null;
  const rest = data.subarray(end + 1);
  if (type === "tEXt") return latin1(rest);
  // zTXt: compression method (0, deflate), then the compressed Latin-1 text.
  if (type === "zTXt") return latin1(await inflate(rest.subarray(1)));
  // iTXt: compression flag, compression method, language tag \0, translated keyword \0, then UTF-8 text.
  const language = rest.indexOf(0, 2);
  const translated = language < 0 ? -1 : rest.indexOf(0, language + 1);
  if (translated < 0) return null;
  const text = rest.subarray(translated + 1);
  return utf8(rest[0] === 1 ? await inflate(text) : text);
}

/** The text of the PNG's first text chunk named `keyword`, or null when it has none (or is no PNG). */
export async function pngText(bytes: Uint8Array, keyword: string): Promise<string | null> {
  if (!isPng(bytes)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = SIGNATURE.length;
  while (offset + CHUNK_OVERHEAD <= bytes.length) {
    const length = view.getUint32(offset);
    const type = latin1(bytes.subarray(offset + 4, offset + 8));
    if (type === "IEND" || offset + CHUNK_OVERHEAD + length > bytes.length) break;
    const text = await chunkText(type, bytes.subarray(offset + 8, offset + 8 + length), keyword);
    if (text !== null) return text;
    offset += CHUNK_OVERHEAD + length;
  }
  return null;
}
