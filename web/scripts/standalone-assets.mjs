// After `next build`: the standalone server serves .next/static and public/ only if they sit beside it
// (Next's docs leave that copy to the deployer), so `npm start`, the e2e tests and the Docker image all get them.
import { cpSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const standalone = join(web, ".next", "standalone");
if (!existsSync(join(standalone, "server.js"))) {
  console.error("standalone-assets: .next/standalone/server.js is missing; is output: 'standalone' still set?");
  process.exit(1);
}
cpSync(join(web, ".next", "static"), join(standalone, ".next", "static"), { recursive: true });
if (existsSync(join(web, "public"))) cpSync(join(web, "public"), join(standalone, "public"), { recursive: true });
console.log("standalone-assets: copied .next/static and public/ into .next/standalone");
