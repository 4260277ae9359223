"""The stack under stress, through real processes: a full queue, a dead worker, a deadline, and SIGTERM."""

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from scripts.devstack import Service, answers, start_api, start_worker, wait_until

SLOW = {"positivePrompt": "slow", "width": 512, "height": 512, "steps": 30}
QUICK = {"positivePrompt": "quick", "width": 64, "height": 64, "steps": 1}


@pytest.fixture
def own_worker(request: pytest.FixtureRequest) -> Service:
    """A worker of this test's own, with a queue of one, so it can be filled, killed or stopped."""
    worker = start_worker(request.node.name, WORKER_QUEUE_SIZE="1", WORKER_DRAIN_GRACE_SECONDS="60")
    yield worker
    worker.kill()


@pytest.fixture
def own_api(own_worker: Service, request: pytest.FixtureRequest) -> Service:
    api = start_api(request.node.name, own_worker.port, API_GENERATE_TIMEOUT_SECONDS="120")
    yield api
    api.kill()


def url(api: Service, path: str) -> str:
    return f"http://127.0.0.1:{api.port}{path}"


def test_full_queue_answers_429_with_retry_after(own_api: Service) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        # One runs, one waits (queue of one), the rest are refused.
        responses = list(
            pool.map(lambda _: httpx.post(url(own_api, "/generateimage"), json=SLOW, timeout=120), range(4))
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
        accepted = []
        for _ in range(2):  # one after the other: the first runs, the second waits in the queue of one
            accepted.append(pool.submit(httpx.post, url(own_api, "/generateimage"), json=SLOW, timeout=120))
            time.sleep(0.7)
        own_worker.signal(signal.SIGTERM)
        time.sleep(0.3)
        refused = httpx.post(url(own_api, "/generateimage"), json=QUICK, timeout=60)
        assert [f.result().status_code for f in accepted] == [200, 200]
    assert refused.status_code == 503
    assert own_worker.wait(60) == 0
