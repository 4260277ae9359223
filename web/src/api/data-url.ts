// data: URLs, as the stream sends its images, turned into the Blobs the page holds them as.

/** A base64 (or percent-encoded) data: URL as a Blob, so the final image gets a blob: URL. */
export function dataUrlToBlob(url: string): Blob {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma < 0) throw new Error("not a data: URL");
  const [type, ...params] = url.slice(5, comma).split(";");
  const payload = url.slice(comma + 1);
  const mime = type || "text/plain";
  if (!params.includes("base64")) return new Blob([decodeURIComponent(payload)], { type: mime });
  const binary = atob(payload);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type: mime });
}
