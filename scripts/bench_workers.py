"""Throughput of 1 vs 3 demo workers behind one api, and requests lost when one of three is killed under load.

    .venv/bin/python scripts/bench_workers.py [--requests 60] [--concurrency 6] [--size 128] [--steps 4]

Starts real `python -m worker` (demo model, CPU) and `python -m api` processes on free ports, side by side in
one run, so the numbers compare on the same machine at the same time. On a machine with few cores, N CPU
workers share those cores: they cannot multiply throughput by N, only keep the cores busy.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

# Run as a script from anywhere: the process helpers of the end-to-end tests live in the repo's tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.devstack import Service, free_port, start_api, start_worker


@dataclass
class Setup:
    """A number of workers and the torch threads each may use (empty: torch's default, one per core)."""

    workers: int
    threads: str

    @property
    def name(self) -> str:
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}, {self.threads or 'default'} thread(s) each"


def start(setup: Setup, tag: str) -> tuple[list[Service], Service]:
    """The workers (side by side) and an api whose RPC_TARGET lists them all."""

    def one(index: int) -> Service:
        settings = {"WORKER_ID": f"w{index}"} | ({"OMP_NUM_THREADS": setup.threads} if setup.threads else {})
        return start_worker(f"bench-{tag}-{index}", None, **settings)

    workers = [one(0)]  # the first may build the demo model's cache; the others then load it
    with ThreadPoolExecutor(max(1, setup.workers - 1)) as pool:
        workers += list(pool.map(one, range(1, setup.workers)))
    target = "ipv4:" + ",".join(f"127.0.0.1:{w.port}" for w in workers)
    return workers, start_api(f"bench-{tag}", free_port(), RPC_TARGET=target)


def stop(workers: list[Service], api: Service) -> None:
    api.stop()
    for worker in workers:
        worker.kill()


def throughput(api: Service, body: dict[str, object], requests: int, concurrency: int) -> dict[str, float]:
    """Images per second and latency of `requests` requests, `concurrency` at a time, after a warm-up round."""
    url = f"http://127.0.0.1:{api.port}"

    def one(seed: int) -> tuple[int, float]:
        started = time.perf_counter()
        with httpx.Client(base_url=url, timeout=300) as client:
            status = client.post("/generateimage", json={**body, "seed": seed}).status_code
        return status, time.perf_counter() - started

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency * 2)))  # first-run costs of this size on every worker
        started = time.perf_counter()
        results = list(pool.map(one, range(requests)))
        elapsed = time.perf_counter() - started
    latencies = sorted(seconds for _, seconds in results)
    return {
        "ok": sum(status == 200 for status, _ in results),
        "images_per_second": requests / elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
    }


@dataclass
class Outcome:
    sent: float
    status: int
    worker: str | None


def kill_under_load(api: Service, victim: Service, body: dict[str, object], concurrency: int) -> dict[str, int]:
    """SIGKILL one worker while `concurrency` clients send requests back to back; count what failed."""
    url = f"http://127.0.0.1:{api.port}"
    outcomes: list[Outcome] = []
    done = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            while not done.is_set():
                sent = time.monotonic()
                try:
                    response = http.post("/generateimage", json=body)
                    outcomes.append(Outcome(sent, response.status_code, response.headers.get("X-Worker")))
                except httpx.TransportError:
                    outcomes.append(Outcome(sent, 0, None))

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(4)
    killed_at = time.monotonic()
    victim.kill()
    time.sleep(6)
    done.set()
    for thread in threads:
        thread.join()
    failed = [o for o in outcomes if o.status != 200]
    return {
        "requests": len(outcomes),
        "failed": len(failed),
        "failed_sent_after_kill": sum(o.sent >= killed_at for o in failed),
        "served_by_victim_before": sum(o.worker == "w1" and o.sent < killed_at for o in outcomes),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--kill-runs", type=int, default=3)
    parser.add_argument(
        "--oversubscribed", action="store_true", help="also 3 workers with torch's default threads (slow)"
    )
    args = parser.parse_args()
    body: dict[str, object] = {"positivePrompt": "bench", "width": args.size, "height": args.size, "steps": args.steps}
    print(
        f"{os.cpu_count()} CPUs; {args.requests} requests of {args.size}x{args.size}, {args.steps} steps, "
        f"{args.concurrency} at a time",
        flush=True,
    )
    setups = [Setup(1, ""), Setup(1, "1"), Setup(3, "1")]
    if args.oversubscribed:
        setups.append(Setup(3, ""))
    print("| setup | ok | images/s | p50 s | p95 s |\n| --- | --- | --- | --- | --- |", flush=True)
    for index, setup in enumerate(setups):
        workers, api = start(setup, f"t{index}")
        try:
            result = throughput(api, body, args.requests, args.concurrency)
        finally:
            stop(workers, api)
        print(
            f"| {setup.name} | {result['ok']:.0f}/{args.requests} | {result['images_per_second']:.2f} | "
            f"{result['p50']:.2f} | {result['p95']:.2f} |",
            flush=True,
        )

    print("\n| kill run | requests | failed | failed, sent after the kill | served by the killed one before |")
    print("| --- | --- | --- | --- | --- |", flush=True)
    workers, api = start(Setup(3, "1"), "kill")
    try:
        for run in range(args.kill_runs):
            if workers[1].process is None or workers[1].process.poll() is not None:
                workers[1] = start_worker("bench-kill-1", workers[1].port, WORKER_ID="w1", OMP_NUM_THREADS="1")
            r = kill_under_load(api, workers[1], body, args.concurrency)
            print(
                f"| {run + 1} | {r['requests']} | {r['failed']} | {r['failed_sent_after_kill']} | "
                f"{r['served_by_victim_before']} |",
                flush=True,
            )
    finally:
        stop(workers, api)
    return 0


if __name__ == "__main__":
    sys.exit(main())
