import { ImageGenerator } from "@/features/generate/image-generator";

// Rendered per request so the api URL comes from the environment the server runs in, not the one it was built in:
// one build (and one Docker image) works with any api.
export const dynamic = "force-dynamic";

const DEFAULT_API_BASE_URL = "http://localhost:8080";

function readEnv(name: string): string | undefined {
  // A computed key: Next inlines `process.env.NEXT_PUBLIC_*` at build time, which is exactly what this avoids.
  return process.env[name];
}

export default function Page() {
  const apiBaseUrl = (readEnv("NEXT_PUBLIC_BASE_URL")?.trim() || DEFAULT_API_BASE_URL).replace(/\/+$/, "");
  // The api's key for this page when the api has API_KEYS (issue 7). It reaches the browser, which sends it on
  // every call, so it is as public as the page: give the page a key of its own, with its own rate limit.
  const apiKey = readEnv("WEB_API_KEY")?.trim() || undefined;
  return <ImageGenerator apiBaseUrl={apiBaseUrl} apiKey={apiKey} />;
}
