"""POST /generateimage/stream on the real stack: events in order, previews, cancel on close, queue positions."""

import base64
import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import numpy as np
import pytest
from httpx_sse import EventSource, connect_sse
from PIL import Image

from scripts.devstack import Service, start_api, start_worker
from tests.e2e.images import png_pixels

QUICK = {"positivePrompt": "quick", "width": 64, "height": 64, "steps": 1}
# Seconds of work on 2 CPU cores: long enough to be caught mid-way, queued behind, or cancelled.
LONG = {"positivePrompt": "long", "width": 512, "height": 512, "steps": 60}


def decode_data_url(url: str, mime_type: str) -> bytes:
    prefix = f"data:{mime_type};base64,"
    assert url.startswith(prefix), url[:40]
    return base64.b64decode(url.removeprefix(prefix))


@contextmanager
def stream(api: Service, body: dict[str, Any], read_timeout: float = 120) -> Iterator[EventSource]:
    timeout = httpx.Timeout(120, read=read_timeout)
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{api.port}", timeout=timeout) as client,
        connect_sse(client, "POST", "/generateimage/stream", json=body) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        yield source


def events(source: EventSource) -> Iterator[tuple[str, dict[str, Any]]]:
    for sse in source.iter_sse():
        yield sse.event, json.loads(sse.data)


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Service, Service]]:
    """A worker and api of this module's own: its tests fill and cancel the queue."""
    worker = start_worker("stream", WORKER_PREVIEW_EVERY_STEPS="3")
    api = start_api("stream", worker.port)
    yield worker, api
    api.stop()
    worker.stop()


def test_stream_reports_queued_started_progress_and_done_in_order(stack: tuple[Service, Service]) -> None:
    _, api = stack
    body = {"positivePrompt": "a lighthouse at dusk", "width": 128, "height": 128, "steps": 8, "seed": 77}
    with stream(api, body) as source:
        received = list(events(source))
    names = [name for name, _ in received]
    assert names[0] == "queued" and received[0][1]["position"] == 1
    assert names[1] == "started" and received[1][1]["seed"] == 77
    assert names[2:] == ["progress"] * 8 + ["done"]
    progress = [data for name, data in received if name == "progress"]
    assert [p["step"] for p in progress] == list(range(1, 9))
    assert all(p["steps"] == 8 for p in progress)
    assert progress[-1]["etaSeconds"] == 0 and all(p["etaSeconds"] >= 0 for p in progress)
    previews = [p["preview"] for p in progress if "preview" in p]
    assert [p["step"] for p in progress if "preview" in p] == [3, 6]
    thumbnail = Image.open(io.BytesIO(decode_data_url(previews[0], "image/jpeg")))
    assert thumbnail.format == "JPEG" and thumbnail.size == (16, 16)  # the 128x128 image's latents

    done = received[-1][1]
    assert (done["seed"], done["width"], done["height"], done["steps"]) == (77, 128, 128, 8)
    assert done["demoModel"] is True and done["filename"] == "img-77.png"
    streamed = png_pixels(decode_data_url(done["image"], "image/png"))
    unary = httpx.post(f"http://127.0.0.1:{api.port}/generateimage", json=body, timeout=120)
    assert np.array_equal(streamed, png_pixels(unary.content))


def test_invalid_value_is_a_plain_422_before_any_stream(stack: tuple[Service, Service]) -> None:
    _, api = stack
    response = httpx.post(
        f"http://127.0.0.1:{api.port}/generateimage/stream", json={"positivePrompt": "cat", "steps": 0}, timeout=30
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_value" and "steps" in response.json()["message"]


def test_closing_the_stream_stops_the_worker_within_a_step(stack: tuple[Service, Service]) -> None:
    worker, api = stack
    with stream(api, {**LONG, "seed": 901}) as source:
        for name, data in events(source):
            if name == "progress" and data["step"] == 3:
                step_seconds = (data["etaSeconds"] / (data["steps"] - data["step"])) if data["etaSeconds"] else 1.0
                break
    closed = time.monotonic()
    response = httpx.post(f"http://127.0.0.1:{api.port}/generateimage", json=QUICK, timeout=120)
    freed_after = time.monotonic() - closed
    assert response.status_code == 200
    # The long job had ~57 steps left; the quick one ran after at most about one of them (plus its own run).
    assert freed_after < 10 * step_seconds + 2, (freed_after, step_seconds)
    assert "cancelled after" in worker.log() and "seed 901" in worker.log()


def test_concurrent_streams_report_their_positions_and_a_cancelled_queued_job_never_runs(
    stack: tuple[Service, Service],
) -> None:
    worker, api = stack
    seen: dict[str, list[tuple[str, dict[str, Any]]]] = {"a": [], "b": [], "c": []}
    b_queued = threading.Event()
    c_moved = threading.Event()

    def run(key: str, body: dict[str, Any], read_timeout: float = 120) -> None:
        try:
            with stream(api, body, read_timeout) as source:
                for name, data in events(source):
                    seen[key].append((name, data))
                    if key == "b" and name == "queued":
                        b_queued.set()
                    if key == "c" and name == "queued" and data["position"] == 1:
                        c_moved.set()
                    if key == "a" and c_moved.is_set():
                        return  # a has held the worker long enough: closing its stream cancels it
        except httpx.ReadTimeout:
            pass  # b gives up while it waits: its connection closes

    # a runs 150 steps: it holds the worker far longer than b's 2 s of patience, however fast the machine.
    a = threading.Thread(target=run, args=("a", {**LONG, "steps": 150, "seed": 1001}))
    a.start()
    while not any(name == "progress" for name, _ in seen["a"]):
        time.sleep(0.05)
    # b hears nothing for 2 s while it waits and closes its stream; it leaves the queue at once and c, queued
    # behind it, moves up to position 1.
    b = threading.Thread(target=run, args=("b", {**QUICK, "seed": 1002}, 2.0))
    b.start()
    assert b_queued.wait(30)
    c = threading.Thread(target=run, args=("c", {**QUICK, "seed": 1003}))
    c.start()
    for thread in (a, b, c):
        thread.join(120)

    assert [d["position"] for n, d in seen["b"] if n == "queued"] == [1]
    assert not any(n == "started" for n, _ in seen["b"])
    positions_c = [d["position"] for n, d in seen["c"] if n == "queued"]
    assert positions_c[0] == 2 and positions_c[-1] == 1, positions_c
    assert c_moved.is_set()
    assert seen["c"][-1][0] == "done"
    assert "cancelled while queued: 64x64, 1 steps, seed 1002" in worker.log()


def test_unary_client_that_hangs_up_frees_the_worker(stack: tuple[Service, Service]) -> None:
    worker, api = stack
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"http://127.0.0.1:{api.port}/generateimage", json={**LONG, "seed": 1101}, timeout=1.5)
    started = time.monotonic()
    response = httpx.post(f"http://127.0.0.1:{api.port}/generateimage", json=QUICK, timeout=120)
    assert response.status_code == 200
    assert time.monotonic() - started < 10
    assert "seed 1101" in worker.log() and "cancelled after" in worker.log()


def test_full_queue_refusal_names_the_position_and_retry_after_follows_the_queue() -> None:
    worker = start_worker("stream-full", WORKER_QUEUE_SIZE="2")
    api = start_api("stream-full", worker.port)
    try:
        url = f"http://127.0.0.1:{api.port}"
        # One finished job gives the worker its measured seconds per job.
        assert httpx.post(f"{url}/generateimage", json={**LONG, "steps": 10}, timeout=120).status_code == 200

        def occupy() -> None:
            # Its answer is not awaited: the worker is killed once the refusal is checked.
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{url}/generateimage", json=LONG, timeout=120)

        threads = [threading.Thread(target=occupy, daemon=True) for _ in range(3)]
        for thread in threads:  # one runs, two wait
            thread.start()
            time.sleep(0.4)
        refused = httpx.post(f"{url}/generateimage/stream", json=QUICK, timeout=30)
        assert refused.status_code == 429
        assert refused.json()["error"] == "queue_full"
        assert "number 3 in a queue of 2" in refused.json()["message"]
        # The worker's estimate: jobs waiting x its measured seconds per job (exact in tests/worker/test_engine.py).
        assert int(refused.headers["retry-after"]) >= 1
    finally:
        api.kill()
        worker.kill()
