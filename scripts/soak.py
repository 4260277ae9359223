"""`make soak`: constant load on the demo stack for N minutes; latency percentiles, images/s, errors, worker memory."""

import argparse
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from scripts.devstack import Service, start_api, start_worker  # noqa: E402


def rss_mib(service: Service) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    assert service.process is not None
    for line in Path(f"/proc/{service.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()

    worker = start_worker("soak")
    api = start_api("soak", worker.port)
    url = f"http://127.0.0.1:{api.port}/generateimage"
    body = {"positivePrompt": "a lighthouse at dusk", "width": args.size, "height": args.size, "steps": args.steps}
    try:
        httpx.post(url, json=body, timeout=120).raise_for_status()  # warm, so the start figure is steady state
        start_rss = rss_mib(worker)
        end_at = time.monotonic() + args.minutes * 60
        latencies: list[float] = []
        errors: dict[int | str, int] = {}
        lock = threading.Lock()

        def client(index: int) -> None:
            with httpx.Client(timeout=120) as http:
                seed = index * 1_000_000
                while time.monotonic() < end_at:  # bounded in time: the soak stops by itself
                    seed += 1
                    started = time.perf_counter()
                    try:
                        status: int | str = http.post(url, json={**body, "seed": seed}).status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    with lock:
                        if status == 200:
                            latencies.append(time.perf_counter() - started)
                        else:
                            errors[status] = errors.get(status, 0) + 1

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        end_rss = rss_mib(worker)
        p50, p95, p99 = (np.percentile(latencies, q) * 1000 for q in (50, 95, 99))
        print(
            f"soak {args.minutes:g} min, {args.clients} clients, {args.size}x{args.size} {args.steps} steps: "
            f"{len(latencies)} images, {len(latencies) / elapsed:.2f} images/s, "
            f"p50 {p50:.0f} ms p95 {p95:.0f} ms p99 {p99:.0f} ms, errors {sum(errors.values())} {errors or ''}"
        )
        print(
            f"soak worker memory: {start_rss:.0f} MiB at start, {end_rss:.0f} MiB at end ({end_rss - start_rss:+.0f})"
        )
    finally:
        api.stop()
        worker.stop()


if __name__ == "__main__":
    main()
