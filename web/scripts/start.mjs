// `npm start`: the standalone server from `npm run build` on FE_PORT (default 3000). It reads PORT and HOSTNAME;
// HOSTNAME is set from FE_HOST (default 0.0.0.0) because shells and containers set HOSTNAME to the machine's name.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const server = join(dirname(fileURLToPath(import.meta.url)), "..", ".next", "standalone", "server.js");
if (!existsSync(server)) {
  console.error(`start: ${server} is missing; run \`npm run build\` first.`);
  process.exit(1);
}
process.env.PORT = process.env.FE_PORT || process.env.PORT || "3000";
process.env.HOSTNAME = process.env.FE_HOST || "0.0.0.0";
await import(server);
