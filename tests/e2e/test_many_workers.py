"""Three real workers behind one real api (RPC_TARGET, a static list): spread, kill, full queue, restart."""

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from genproto import generator_pb2, generator_pb2_grpc

from scripts.devstack import Service, free_port, start_api, start_worker, wait_until

pytestmark = pytest.mark.e2e

# Small and short, so three CPU workers on two cores answer in a fraction of a second.
SMALL = {"positivePrompt": "a lighthouse", "width": 64, "height": 64, "steps": 2}
WORKER_IDS = ("worker-a", "worker-b", "worker-c")
# Three torch processes on two cores: with torch's default (a thread per core each) their threads fight for the
# cores, 7 times slower than one thread each on a quiet machine and 70 times on a busy one (scripts/bench_workers.py
# --oversubscribed). The warm-up is skipped to start them faster.
WORKER_SETTINGS = {"OMP_NUM_THREADS": "1", "WORKER_WARMUP": "false"}


@dataclass
class Cluster:
    """Three demo workers on their own ports and one api whose RPC_TARGET lists all three."""

    ports: list[int]
    workers: dict[str, Service] = field(default_factory=dict)
    api: Service | None = None

    def start_worker(self, worker_id: str) -> Service:
        """(Re)start the worker with this id on its own port, and wait until it is SERVING."""
        port = self.ports[WORKER_IDS.index(worker_id)]
        self.workers[worker_id] = start_worker(worker_id, port, WORKER_ID=worker_id, **WORKER_SETTINGS)
        return self.workers[worker_id]

    def ensure_running(self, *worker_ids: str) -> None:
        """Restart those of the workers an earlier test stopped (all three when none is named)."""
        for worker_id in worker_ids or WORKER_IDS:
            process = self.workers[worker_id].process
            if process is None or process.poll() is not None:
                self.start_worker(worker_id)

    @property
    def url(self) -> str:
        assert self.api is not None
        return f"http://127.0.0.1:{self.api.port}"

    def serving(self) -> dict[str, int]:
        """/ready's worker count."""
        workers: dict[str, int] = httpx.get(f"{self.url}/ready", timeout=10).json()["workers"]
        return workers


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    cluster = Cluster(ports=[free_port() for _ in WORKER_IDS])
    try:
        # The first start may build the demo model's cache; the other two then load it, side by side.
        cluster.start_worker(WORKER_IDS[0])
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(cluster.start_worker, WORKER_IDS[1:]))
        target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in cluster.ports)
        # The api's own RPC_PEER:RPC_PORT point at nothing: every request must go through RPC_TARGET.
        cluster.api = start_api("many-workers", free_port(), RPC_TARGET=target)
        yield cluster
    finally:
        if cluster.api is not None:
            cluster.api.stop()
        for worker in cluster.workers.values():
            worker.kill()


@dataclass
class Outcome:
    """One request under load: when it was sent and answered, its status, and which worker answered."""

    sent: float
    answered: float
    status: int
    worker: str | None


def last_event(text: str) -> tuple[str, dict[str, Any]]:
    """The last (event, data) of an SSE body."""
    name, data = "", ""
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data = line.removeprefix("data:").strip()
    return name, json.loads(data) if data else {}


def load(url: str, stop: threading.Event, outcomes: list[Outcome], stream: bool) -> None:
    """One client sending requests back to back until stop is set, to /generateimage or its stream."""
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                if stream:
                    response = client.post("/generateimage/stream", json=SMALL)
                    event, data = last_event(response.text)
                    # A stream that ends with an error event is a failed request, though its status was 200.
                    status = response.status_code if event == "done" else 500
                    worker = data.get("worker")
                else:
                    response = client.post("/generateimage", json=SMALL)
                    status, worker = response.status_code, response.headers.get("X-Worker")
            except httpx.TransportError:
                status, worker = 0, None
            outcomes.append(Outcome(sent, time.monotonic(), status, worker))


def test_thirty_requests_all_succeed_and_every_worker_serves_some(cluster: Cluster) -> None:
    cluster.ensure_running()
    assert cluster.serving() == {"serving": 3, "total": 3}
    with httpx.Client(base_url=cluster.url, timeout=60) as client, ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda seed: client.post("/generateimage", json={**SMALL, "seed": seed}), range(30)))
    assert [r.status_code for r in responses] == [200] * 30
    assert all(r.content.startswith(b"\x89PNG") for r in responses)
    served = Counter(r.headers["X-Worker"] for r in responses)
    assert set(served) == set(WORKER_IDS), served


def test_a_worker_killed_under_load_fails_no_request_it_had_not_started(cluster: Cluster) -> None:
    """SIGKILL one worker while six clients (three on the stream) keep the three busy.

    The rule: a request may fail only if it was sent before the kill (so it could have been on the killed
    worker), and at most one may fail, because a worker runs one job at a time (worker/engine.py): only the
    job running there when it died had started. Requests queued there, and those the gateway sent to it
    after it died, never started: gRPC's retry policy (or, for a stream already queued, the gateway itself,
    api/streaming.py) sends them to another worker.
    """
    cluster.ensure_running()
    outcomes: list[Outcome] = []
    stop = threading.Event()
    # Half of the clients use the stream, which the page uses; its queued events commit the call to a worker.
    clients = [threading.Thread(target=load, args=(cluster.url, stop, outcomes, n % 2 == 1)) for n in range(6)]
    for client in clients:
        client.start()
    time.sleep(3)
    served_before = Counter(o.worker for o in outcomes)
    killed_at = time.monotonic()
    cluster.workers["worker-b"].kill()
    time.sleep(4)
    stop.set()
    for client in clients:
        client.join(60)

    assert served_before["worker-b"] > 0, "the killed worker served nothing before: it was not under load"
    failed = [o for o in outcomes if o.status != 200]
    assert all(o.sent < killed_at for o in failed), f"a request sent after the kill failed: {failed}"
    assert len(failed) <= 1, f"more requests failed than the killed worker could have been running: {failed}"
    after = [o for o in outcomes if o.sent > killed_at + 1]
    assert len(after) >= 6, "too few requests after the kill to say the other workers took over"
    assert all(o.status == 200 and o.worker in ("worker-a", "worker-c") for o in after)
    assert cluster.serving() == {"serving": 2, "total": 3}


def test_a_worker_with_a_full_queue_makes_the_api_use_the_others(cluster: Cluster) -> None:
    cluster.ensure_running()
    # A worker restarted just now is picked only once the api's channel has reconnected to it.
    wait_until(lambda: cluster.serving() == {"serving": 3, "total": 3}, 60, "/ready saw all three workers serving")
    full = cluster.workers["worker-a"]
    # Long enough (seconds a job) that none ends while the short ones run; cancelled at the end.
    long_job = generator_pb2.GenerateImageRequest(positive_prompt="long", width=512, height=512, steps=150)
    with grpc.insecure_channel(f"127.0.0.1:{full.port}") as channel:
        images = generator_pb2_grpc.ImageServiceStub(channel)
        capacity = images.GetModelInfo(generator_pb2.GetModelInfoRequest(), timeout=10).queue_capacity
        # Straight to worker-a, past the api: one long job runs and `capacity` wait, so its queue is full.
        jobs = [images.GenerateImage.future(long_job, timeout=120) for _ in range(capacity + 1)]
        try:
            wait_until(
                lambda: images.GetModelInfo(generator_pb2.GetModelInfoRequest(), timeout=10).queue_length >= capacity,
                10,
                "the long jobs filled worker-a's queue",
                0.1,
            )
            with pytest.raises(grpc.RpcError) as refused:
                images.GenerateImage(long_job, timeout=10)
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

            with httpx.Client(base_url=cluster.url, timeout=60) as client, ThreadPoolExecutor(3) as pool:
                responses = list(pool.map(lambda _: client.post("/generateimage", json=SMALL), range(12)))
            still_full = not any(job.done() for job in jobs)
        finally:
            for job in jobs:
                job.cancel()  # queued jobs leave the queue at once; the running one stops at its next step

    assert still_full, "a long job ended before the short ones did: worker-a was not full all along"
    assert [r.status_code for r in responses] == [200] * 12
    # A third of the picks land on worker-a; each was refused before it started and retried elsewhere.
    assert {r.headers["X-Worker"] for r in responses} == {"worker-b", "worker-c"}


def test_a_worker_restarted_on_its_port_rejoins_without_restarting_the_api(cluster: Cluster) -> None:
    # worker-b is down when the kill test ran just before; otherwise stop it here.
    cluster.ensure_running("worker-a", "worker-c")
    cluster.workers["worker-b"].stop()
    assert cluster.api is not None
    api_process = cluster.api.process
    wait_until(lambda: cluster.serving() == {"serving": 2, "total": 3}, 15, "/ready saw worker-b go")
    with httpx.Client(base_url=cluster.url, timeout=60) as client:
        without_b = {client.post("/generateimage", json=SMALL).headers["X-Worker"] for _ in range(6)}
        assert without_b == {"worker-a", "worker-c"}

        cluster.start_worker("worker-b")
        # The api reconnects within its reconnect backoff (at most 2 s, api/worker_client.py).
        wait_until(lambda: cluster.serving() == {"serving": 3, "total": 3}, 15, "/ready saw worker-b come back")
        deadline = time.monotonic() + 15
        served: Counter[str] = Counter()
        while served["worker-b"] == 0:
            assert time.monotonic() < deadline, f"the restarted worker got no request: {served}"
            response = client.post("/generateimage", json=SMALL)
            assert response.status_code == 200
            served[response.headers["X-Worker"]] += 1
    assert cluster.api.process is api_process and api_process is not None and api_process.poll() is None
