import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // A self-contained server in .next/standalone for the Docker image (the compose issue), also used by `npm start`
  // and the e2e tests so they exercise what ships.
  output: "standalone",
  // The api URL is read at request time (src/app/page.tsx), so nothing here depends on the environment.
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
