import { defineConfig } from "@playwright/test";

// Unit tests of the page's plain modules (SSE parsing, the stream contract) in Node: Playwright's runner compiles the
// TypeScript and resolves `@/` like the app; no browser and no stack start (`npm run test:unit`, a few seconds).
export default defineConfig({
  testDir: "./unit",
  testMatch: "**/*.test.ts",
  timeout: 10_000,
  forbidOnly: !!process.env.CI,
  outputDir: "test-results/unit-artifacts",
  reporter: [["list"]],
});
