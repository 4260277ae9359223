"""The stack under stress, through real processes: a full queue, a dead worker, a deadline, and SIGTERM."""

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from scripts.devstack import Service, answers, free_port, start_api, start_worker, wait_until

SLOW = {"positivePrompt": "slow", "width": 512, "height": 512, "steps": 30}
QUICK = {"positivePrompt": "quick", "width": 64, "height": 64, "steps": 1}
LONG_WAIT = 600


@pytest.fixture
def own_worker(request: pytest.FixtureRequest) -> Service:
    """A worker of this test's own, with a queue of one, so it can be filled, killed or stopped."""
    worker = start_worker(
        request.node.name,
        WORKER_QUEUE_SIZE="1",
        WORKER_DRAIN_GRACE_SECONDS=str(LONG_WAIT),
        WORKER_METRICS_PORT=str(free_port()),
        WORKER_METRICS_HOST="127.0.0.1",
    )
    yield worker
    worker.kill()


@pytest.fixture
def own_api(own_worker: Service, request: pytest.FixtureRequest) -> Service:
    # Far beyond two SLOW jobs even on a loaded machine: these tests are about refusals and drains, not deadlines.
    api = start_api(request.node.name, own_worker.port, API_GENERATE_TIMEOUT_SECONDS=str(LONG_WAIT))
    yield api
    api.kill()


def url(api: Service, path: str) -> str:
    return f"http://127.0.0.1:{api.port}{path}"


def jobs_started(worker: Service) -> float:
    """How many jobs the worker has taken from its queue (its queue-wait histogram counts one per start)."""
    page = httpx.get(f"http://127.0.0.1:{worker.env['WORKER_METRICS_PORT']}/metrics", timeout=10).text
    line = next(line for line in page.splitlines() if line.startswith("imggen_worker_queue_wait_seconds_count"))
    return float(line.split()[-1])


def queue_length(api: Service) -> int:
    """Jobs waiting in the worker's queue, as /ready reports them."""
    length: int = httpx.get(url(api, "/ready"), timeout=10).json()["queue"]["length"]
    return length


def test_full_queue_answers_429_with_retry_after(own_api: Service) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        # One runs, one waits (queue of one), the rest are refused.
        responses = list(
            pool.map(lambda _: httpx.post(url(own_api, "/generateimage"), json=SLOW, timeout=LONG_WAIT), range(4))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 2 and 429 in statuses, statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"] == "queue_full"
    assert "queue is full" in refused.json()["message"]
    assert int(refused.headers["retry-after"]) >= 1


def test_killed_worker_gives_503_fast_and_the_api_recovers_when_it_is_back(
    own_worker: Service, own_api: Service
) -> None:
    assert httpx.post(url(own_api, "/generateimage"), json=QUICK, timeout=60).status_code == 200
    own_worker.kill()
    started = time.monotonic()
    response = httpx.post(url(own_api, "/generateimage"), json=QUICK, timeout=60)
    assert response.status_code == 503
    assert response.json()["error"] == "worker_unavailable"
    assert time.monotonic() - started < 5
    assert httpx.get(url(own_api, "/ready"), timeout=10).status_code == 503

    back = start_worker("restarted", port=own_worker.port)
    try:
        wait_until(answers(url(own_api, "/ready")), 30, "the api reconnected to the restarted worker", 0.5)
        assert httpx.post(url(own_api, "/generateimage"), json=QUICK, timeout=60).status_code == 200
    finally:
        back.kill()


def test_deadline_passed_answers_504(own_worker: Service) -> None:
    api = start_api("deadline", own_worker.port, API_GENERATE_TIMEOUT_SECONDS="1")
    try:
        response = httpx.post(url(api, "/generateimage"), json=SLOW, timeout=60)
        assert response.status_code == 504
        assert response.json()["error"] == "deadline_exceeded"
    finally:
        api.kill()


def test_sigterm_lets_accepted_requests_finish_and_refuses_new_ones(own_worker: Service, own_api: Service) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        # The first runs, the second waits in the queue of one; SIGTERM comes only once both are so.
        before = jobs_started(own_worker)
        accepted = [pool.submit(httpx.post, url(own_api, "/generateimage"), json=SLOW, timeout=LONG_WAIT)]
        wait_until(lambda: jobs_started(own_worker) > before, LONG_WAIT, "the first job started")
        accepted.append(pool.submit(httpx.post, url(own_api, "/generateimage"), json=SLOW, timeout=LONG_WAIT))
        wait_until(lambda: queue_length(own_api) == 1, LONG_WAIT, "the second job waits in the queue")
        own_worker.signal(signal.SIGTERM)
        # Draining: the worker's health says NOT_SERVING, so the api has no worker to send new work to.
        wait_until(lambda: httpx.get(url(own_api, "/ready"), timeout=10).status_code == 503, 60, "the drain began")
        refused = httpx.post(url(own_api, "/generateimage"), json=QUICK, timeout=60)
        assert [f.result().status_code for f in accepted] == [200, 200]
    assert refused.status_code == 503
    assert own_worker.wait(60) == 0
