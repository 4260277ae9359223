import { readState, stop } from "./stack";

export default async function globalTeardown() {
  let state;
  try {
    state = readState();
  } catch {
    return; // the set-up failed before it started anything
  }
  const { api, web, worker } = state.pids;
  // The api first, so it is not left calling a worker that is gone; the worker drains on SIGTERM.
  await Promise.all([api, web].filter(Boolean).map((pid) => stop(pid)));
  if (worker) await stop(worker, 30_000);
}
