"""`make bench` lines for the generation controls: `count: 4` vs four single requests, measured side by side."""

import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from scripts.devstack import start_api, start_worker
from scripts.tiny_models import tiny_variant


def _stream_images(http: httpx.Client, body: dict[str, Any]) -> int:
    """Run one streamed request to its `done` event; how many images it gave."""
    with http.stream("POST", "/generateimage/stream", json=body) as response:
        response.raise_for_status()
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "done":
                return len(json.loads(line[5:])["images"])
    raise RuntimeError("the stream ended without done")


def count_vs_singles(size: int, steps: int, repeats: int, max_batch: int) -> None:
    """Seconds for 4 images as one `count: 4` request, as 4 requests one after another, and as 4 at once."""
    for batch in (1, max_batch):
        worker = start_worker(f"bench-count-{batch}", WORKER_MAX_BATCH=str(batch))
        api = start_api(f"bench-count-{batch}", worker.port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{api.port}", timeout=600) as http:
                body = {"positivePrompt": "a lighthouse at dusk", "width": size, "height": size, "steps": steps}
                http.post("/generateimage", json=body).raise_for_status()  # warm
                counted, sequential, concurrent = [], [], []
                for repeat in range(repeats):
                    seed = 1000 * repeat
                    started = time.perf_counter()
                    assert _stream_images(http, {**body, "count": 4, "seed": seed}) == 4
                    counted.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    for i in range(4):
                        http.post("/generateimage", json={**body, "seed": seed + i}).raise_for_status()
                    sequential.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    bodies = [{**body, "seed": seed + i} for i in range(4)]
                    with ThreadPoolExecutor(4) as pool:
                        list(pool.map(lambda one: http.post("/generateimage", json=one), bodies))
                    concurrent.append(time.perf_counter() - started)
            a, b, c = (statistics.median(x) for x in (counted, sequential, concurrent))
            print(
                f"count {size}x{size} {steps} steps, max batch {batch}: count 4 in one request {a * 1000:.0f} ms; "
                f"4 requests one by one {b * 1000:.0f} ms (x{b / a:.2f}); 4 at once {c * 1000:.0f} ms (x{c / a:.2f})"
            )
        finally:
            api.stop()
            worker.stop()


def model_switch(repeats: int) -> None:
    """Seconds of a request that switches model (free one, load the other) vs one on the model in memory."""
    root = Path(tempfile.mkdtemp(prefix="bench-library-"))
    tiny_variant(root / "variant", seed=1)
    worker = start_worker("bench-switch", WORKER_MODELS_DIR=str(root))
    api = start_api("bench-switch", worker.port)
    body = {"positivePrompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2, "seed": 1}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api.port}", timeout=600) as http:
            for model in ("variant", "demo-shapes"):  # each loaded once before timing
                http.post("/generateimage", json={**body, "model": model}).raise_for_status()
            same, switched = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                http.post("/generateimage", json=body).raise_for_status()
                same.append(time.perf_counter() - started)
                for model in ("variant", "demo-shapes"):
                    started = time.perf_counter()
                    http.post("/generateimage", json={**body, "model": model}).raise_for_status()
                    switched.append(time.perf_counter() - started)
        a, b = statistics.median(same), statistics.median(switched)
        print(
            f"model switch (tiny demo-architecture models, 64x64, 2 steps): a request on the loaded model "
            f"{a * 1000:.0f} ms, one that switches {b * 1000:.0f} ms (+{(b - a) * 1000:.0f} ms to free and load)"
        )
    finally:
        api.stop()
        worker.stop()
