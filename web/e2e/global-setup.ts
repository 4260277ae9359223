import { rmSync } from "node:fs";

import {
  PYTHON,
  STACK_DIR,
  buildIfStale,
  freePort,
  startApi,
  startWeb,
  startWorker,
  stop,
  waitForReady,
  writeState,
  type StackState,
} from "./stack";

export default async function globalSetup() {
  rmSync(STACK_DIR, { recursive: true, force: true });
  buildIfStale();
  const [workerPort, apiPort, webPort] = [await freePort(), await freePort(), await freePort()];
  const started: number[] = [];
  try {
    const started0 = Date.now();
    const worker = startWorker(workerPort);
    started.push(worker);
    writeState({ workerPort, apiPort, webPort, pids: { worker, api: 0, web: 0 } });
    const [api, web] = await Promise.all([
      startApi({ workerPort, apiPort, webPort }).then((pid) => (started.push(pid), pid)),
      startWeb({ apiPort, webPort }).then((pid) => (started.push(pid), pid)),
    ]);
    const state: StackState = { workerPort, apiPort, webPort, pids: { worker, api, web } };
    writeState(state);
    await waitForReady(state, worker);
    console.log(
      `e2e: stack ready in ${((Date.now() - started0) / 1000).toFixed(1)} s ` +
        `(python ${PYTHON}; worker :${workerPort}, api :${apiPort}, page :${webPort}; logs in ${STACK_DIR})`,
    );
  } catch (error) {
    await Promise.all(started.map((pid) => stop(pid)));
    throw error;
  }
}
