// Starts the real stack for the e2e tests: the worker on the demo model, the api, and the production build of the
// page, each a process on a free port with its log in test-results/stack/. The ports and pids go to a state file so
// the tests (in Playwright's worker process) can stop and restart the api, and the teardown can stop whatever runs.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

export const WEB_DIR = resolve(__dirname, "..");
export const REPO_ROOT = resolve(WEB_DIR, "..");
export const STACK_DIR = join(WEB_DIR, "test-results", "stack");
export const SCREENSHOT_DIR = join(WEB_DIR, "test-results", "screenshots");
const STATE_FILE = join(STACK_DIR, "state.json");

// The repo's virtual environment (the Makefile's .venv/); E2E_PYTHON points elsewhere.
export const PYTHON = process.env.E2E_PYTHON ?? join(REPO_ROOT, ".venv", "bin", "python");

// The first start builds the demo model and warms it up: tens of seconds on 2 cores, more on a cold disk cache.
const WORKER_READY_MS = Number(process.env.E2E_WORKER_READY_MS ?? 300_000);
const API_READY_MS = 60_000;
const WEB_READY_MS = 60_000;

export interface StackState {
  workerPort: number;
  apiPort: number;
  webPort: number;
  pids: { worker: number; api: number; web: number };
}

export const apiUrl = (state: StackState) => `http://127.0.0.1:${state.apiPort}`;
export const webUrl = (state: StackState) => `http://127.0.0.1:${state.webPort}`;

export function readState(): StackState {
  return JSON.parse(readFileSync(STATE_FILE, "utf8")) as StackState;
}

export function writeState(state: StackState) {
  mkdirSync(STACK_DIR, { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Spawns `command` in its own process group (so a stop takes its children too), logging to STACK_DIR/<name>.log. */
function launch(name: string, command: string, args: string[], cwd: string, env: Record<string, string>): number {
  mkdirSync(STACK_DIR, { recursive: true });
  const log = join(STACK_DIR, `${name}.log`);
  const fd = openSync(log, "a");
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  child.on("error", (error) => writeFileSync(log, `spawn failed: ${error.message}\n`, { flag: "a" }));
  child.unref();
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}; see ${log}`);
  return child.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the process group, then SIGKILL after `graceMs`; resolves once the leader has gone. */
export async function stop(pid: number, graceMs = 10_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  if (!alive(pid)) return;
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) signal("SIGKILL");
  while (alive(pid)) await sleep(50);
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls `url` until it answers 200, failing early (with the log's tail) if the process exits. */
async function waitFor(name: string, url: string, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (!alive(pid)) {
      throw new Error(`${name} exited before it was ready; ${join(STACK_DIR, `${name}.log`)} ends with:\n${tail(join(STACK_DIR, `${name}.log`))}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(500);
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs / 1000} s (last answer: ${last}); log:\n${tail(join(STACK_DIR, `${name}.log`))}`);
}

export function startWorker(workerPort: number): number {
  return launch("worker", PYTHON, ["-m", "worker"], REPO_ROOT, {
    PY_PORT: String(workerPort),
    WORKER_HOST: "127.0.0.1",
    // The tests are about the page on the demo model, whatever weights .env names for `make run`.
    PY_MODEL_PATH: "",
    PYTHONUNBUFFERED: "1",
  });
}

export async function startApi(state: Pick<StackState, "workerPort" | "apiPort" | "webPort">): Promise<number> {
  const pid = launch("api", PYTHON, ["-m", "api"], REPO_ROOT, {
    API_HOST: "127.0.0.1",
    API_PORT: String(state.apiPort),
    RPC_PEER: "127.0.0.1",
    RPC_PORT: String(state.workerPort),
    API_CORS_ORIGINS: JSON.stringify([`http://127.0.0.1:${state.webPort}`, `http://localhost:${state.webPort}`]),
    // The gallery of the test stack, kept across the api restarts a test does; never the repo's data/.
    API_DATA_DIR: join(STACK_DIR, "data"),
    PYTHONUNBUFFERED: "1",
  });
  // /ready answers 200 only once the worker reports SERVING, so this also waits for the worker's warm-up.
  await waitFor("api", `http://127.0.0.1:${state.apiPort}/health`, pid, API_READY_MS);
  return pid;
}

export async function waitForReady(state: Pick<StackState, "apiPort">, workerPid: number): Promise<void> {
  await waitFor("worker", `http://127.0.0.1:${state.apiPort}/ready`, workerPid, WORKER_READY_MS);
}

function newestMtime(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return readdirSync(path).reduce((newest, entry) => Math.max(newest, newestMtime(join(path, entry))), stats.mtimeMs);
}

/** `npm run build` when there is no build or a source is newer than it (E2E_SKIP_BUILD=1 trusts what is there). */
export function buildIfStale(): void {
  const server = join(WEB_DIR, ".next", "standalone", "server.js");
  const buildId = join(WEB_DIR, ".next", "BUILD_ID");
  if (process.env.E2E_SKIP_BUILD === "1" && existsSync(server)) return;
  const inputs = ["src", "package.json", "package-lock.json", "next.config.ts", "tailwind.config.ts", "postcss.config.mjs"];
  const newestInput = Math.max(...inputs.map((p) => join(WEB_DIR, p)).filter(existsSync).map(newestMtime));
  if (existsSync(server) && existsSync(buildId) && statSync(buildId).mtimeMs >= newestInput) return;
  console.log("e2e: building the page (npm run build)…");
  const result = spawnSync("npm", ["run", "build"], { cwd: WEB_DIR, stdio: "inherit", env: process.env });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status})`);
}

export async function startWeb(state: Pick<StackState, "apiPort" | "webPort">): Promise<number> {
  const pid = launch("web", process.execPath, [join(WEB_DIR, "scripts", "start.mjs")], WEB_DIR, {
    FE_PORT: String(state.webPort),
    FE_HOST: "127.0.0.1",
    // Read by the server at request time (src/app/page.tsx), so the build needs no rebuild for these ports.
    NEXT_PUBLIC_BASE_URL: `http://127.0.0.1:${state.apiPort}`,
    NEXT_TELEMETRY_DISABLED: "1",
  });
  await waitFor("web", `http://127.0.0.1:${state.webPort}/`, pid, WEB_READY_MS);
  return pid;
}
