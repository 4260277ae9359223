// The A1111 infotext inside an image file, read in the browser: PNG text chunks (png-text.ts), and for JPEG and
// WebP the EXIF UserComment A1111 writes with piexif, "UNICODE\0" then UTF-16 (big-endian in piexif's files, as
// the worker's; the byte order is checked, not assumed). exifr finds the EXIF; the page decodes the comment.
import { isPng, latin1, pngText } from "./png-text";

export type ImageKind = "png" | "jpeg" | "webp";

/** The PNG text keyword A1111 writes its infotext under. */
export const INFOTEXT_KEYWORD = "parameters";

const ascii = (bytes: Uint8Array, at: number, length: number) => latin1(bytes.subarray(at, at + length));

/** What an image file is, by its first bytes (a file's name or MIME type may say otherwise). */
export function imageKind(bytes: Uint8Array): ImageKind | null {
  if (isPng(bytes)) return "png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return "webp";
  return null;
}

/** A WebP's EXIF chunk (a TIFF structure, sometimes behind JPEG's "Exif\0\0"), or null. */
export function webpExif(bytes: Uint8Array): Uint8Array | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12; // "RIFF", the size, "WEBP"
  while (offset + 8 <= bytes.length) {
    const size = view.getUint32(offset + 4, true);
    if (ascii(bytes, offset, 4) === "EXIF") {
      const data = bytes.subarray(offset + 8, offset + 8 + size);
      return ascii(data, 0, 6) === "Exif\0\0" ? data.subarray(6) : data;
    }
    offset += 8 + size + (size % 2); // chunks are padded to an even length
  }
  return null;
}

/** UTF-16 without a BOM in either byte order: text that is mostly Latin has its zero bytes on one side. */
function utf16(bytes: Uint8Array): string {
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    if (bytes[i] === 0) evenZeros++;
    if (bytes[i + 1] === 0) oddZeros++;
  }
  let encoding = evenZeros >= oddZeros ? "utf-16be" : "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) encoding = "utf-16be";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) encoding = "utf-16le";
  // TextDecoder drops a BOM that matches its encoding.
  return new TextDecoder(encoding).decode(bytes);
}

/** An EXIF UserComment: an 8-byte character code ("UNICODE\0", "ASCII\0\0\0", or none), then the text. */
export function decodeUserComment(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (!(value instanceof Uint8Array) || value.length < 8) return null;
  const code = ascii(value, 0, 8);
  const body = value.subarray(8);
  const text = code === "UNICODE\0" ? utf16(body) : new TextDecoder("utf-8").decode(body);
  return text.replace(/\0+$/, "");
}

async function exifUserComment(exif: Uint8Array): Promise<string | null> {
  // Loaded when an image is dropped, not with the page.
  const exifr = (await import("exifr")).default;
  const tags: unknown = await exifr.parse(exif, {
    userComment: true,
    ifd1: false,
    gps: false,
    interop: false,
    xmp: false,
    icc: false,
    iptc: false,
    jfif: false,
    ihdr: false,
  });
  return tags && typeof tags === "object" ? decodeUserComment((tags as { userComment?: unknown }).userComment) : null;
}

/** The A1111 infotext inside a PNG, JPEG or WebP file's bytes; null when it has none or is none of those. */
export async function readImageInfotext(bytes: Uint8Array): Promise<string | null> {
  switch (imageKind(bytes)) {
    case "png":
      return pngText(bytes, INFOTEXT_KEYWORD);
    case "jpeg":
      return exifUserComment(bytes);
    case "webp": {
      const exif = webpExif(bytes);
      return exif ? exifUserComment(exif) : null;
    }
    default:
      return null;
  }
}
