"""Several workers behind one gateway: round-robin, retries of refusals only, X-Worker, /ready's count."""

from collections import Counter
from collections.abc import Callable, Iterator

import grpc
import pytest
from fastapi.testclient import TestClient
from genproto import generator_pb2

from api.targets import MAX_ATTEMPTS
from tests.api.fakes import FakeWorker, free_port, post_json, start_fake_worker, static_target
from tests.api.test_api_stream import sse_events

PROMPT = '{"positivePrompt": "a cat", "seed": 1}'
# RPC_PEER:RPC_PORT, which RPC_TARGET overrides: nothing listens there, so a request sent to it would fail.
IGNORED_PORT = 1


@pytest.fixture
def workers() -> Iterator[list[FakeWorker]]:
    """Three fake workers, each answering with its own worker_id (fake-<port>)."""
    started = [start_fake_worker() for _ in range(3)]
    yield started
    for worker in started:
        worker.server.stop(grace=None)


@pytest.fixture
def balanced(workers: list[FakeWorker], make_client: Callable[..., TestClient]) -> TestClient:
    """The app with RPC_TARGET naming the three fake workers."""
    return make_client(IGNORED_PORT, rpc_target=static_target(*workers))


def served_by(client: TestClient, count: int) -> Counter[str]:
    """X-Worker of `count` answers, each of which must be a 200."""
    seen: Counter[str] = Counter()
    for _ in range(count):
        response = post_json(client, PROMPT)
        assert response.status_code == 200, response.text
        seen[response.headers["X-Worker"]] += 1
    return seen


def test_requests_are_spread_over_every_worker(balanced: TestClient, workers: list[FakeWorker]) -> None:
    seen = served_by(balanced, 12)
    assert set(seen) == {f"fake-{w.port}" for w in workers}
    # round_robin: each worker's share is even, give or take a connection that was not ready yet.
    assert min(seen.values()) >= 2


def test_each_answer_names_its_worker_and_an_older_worker_sends_no_header(
    client: TestClient, fake_worker: FakeWorker
) -> None:
    assert post_json(client, PROMPT).headers["X-Worker"] == f"fake-{fake_worker.port}"
    fake_worker.images.worker_id = ""
    assert "X-Worker" not in post_json(client, PROMPT).headers


def test_a_worker_id_beyond_latin_1_is_percent_encoded(client: TestClient, fake_worker: FakeWorker) -> None:
    fake_worker.images.worker_id = "gpu-ü:1"
    assert post_json(client, PROMPT).headers["X-Worker"] == "gpu-%C3%BC:1"


def test_the_stream_says_which_worker_made_the_image(client: TestClient, fake_worker: FakeWorker) -> None:
    events = sse_events(post_json(client, PROMPT, "/generateimage/stream").text)
    assert events[-1][0] == "done"
    assert events[-1][1]["worker"] == f"fake-{fake_worker.port}"


def test_the_browser_may_read_x_worker(client: TestClient) -> None:
    response = client.post(
        "/generateimage",
        content=PROMPT.encode(),
        headers={"Content-Type": "application/json", "Origin": "http://localhost:3000"},
    )
    assert "X-Worker" in [name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")]


@pytest.mark.parametrize(
    ("code", "details"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "the queue is full (16 waiting); retry later"),
        (grpc.StatusCode.UNAVAILABLE, "the worker is still loading its model; retry in a few seconds"),
    ],
)
def test_a_refusal_before_the_job_started_is_retried_on_another_worker(
    balanced: TestClient, workers: list[FakeWorker], code: grpc.StatusCode, details: str
) -> None:
    refusing = workers[0]
    refusing.images.error = (code, details)
    seen = served_by(balanced, 9)
    assert f"fake-{refusing.port}" not in seen
    assert refusing.images.requests, "the refusing worker was never tried, so nothing was retried"


def test_the_stream_is_retried_on_another_worker_when_refused_before_its_first_event(
    balanced: TestClient, workers: list[FakeWorker]
) -> None:
    workers[0].images.error = (grpc.StatusCode.RESOURCE_EXHAUSTED, "the queue is full; retry later")
    for _ in range(6):
        events = sse_events(post_json(balanced, PROMPT, "/generateimage/stream").text)
        assert events[-1][0] == "done"
        assert events[-1][1]["worker"] != f"fake-{workers[0].port}"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.CANCELLED, 503),
        (grpc.StatusCode.INVALID_ARGUMENT, 422),
    ],
)
def test_an_error_of_a_job_that_ran_is_never_retried(
    balanced: TestClient, workers: list[FakeWorker], code: grpc.StatusCode, status: int
) -> None:
    failing = workers[0]
    failing.images.error = (code, "failed")
    answers = Counter(post_json(balanced, PROMPT).status_code for _ in range(9))
    # Each request reached exactly one worker: the failing one answered its share with the error.
    assert answers[status] == len(failing.images.requests) >= 1
    assert answers[200] == 9 - answers[status]
    assert sum(len(w.images.requests) for w in workers) == 9


def test_when_every_worker_is_full_the_answer_is_429_after_at_most_max_attempts(
    balanced: TestClient, workers: list[FakeWorker]
) -> None:
    for worker in workers:
        worker.images.error = (grpc.StatusCode.RESOURCE_EXHAUSTED, "the queue is full; retry later")
        worker.images.trailing = (("retry-after", "3"),)
    response = post_json(balanced, PROMPT)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert sum(len(w.images.requests) for w in workers) == MAX_ATTEMPTS


def test_ready_counts_the_serving_workers_and_adds_up_their_queues(
    balanced: TestClient, workers: list[FakeWorker]
) -> None:
    workers[1].set_serving(False)
    workers[2].server.stop(grace=None)
    response = balanced.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["workers"] == {"serving": 1, "total": 3}
    assert body["queue"] == {"length": 3, "capacity": 16}
    workers[1].set_serving(True)
    body = balanced.get("/ready").json()
    assert body["workers"] == {"serving": 2, "total": 3}
    assert body["queue"] == {"length": 6, "capacity": 32}


def test_ready_is_503_not_ready_when_none_of_several_workers_serves(
    balanced: TestClient, workers: list[FakeWorker]
) -> None:
    for worker in workers:
        worker.set_serving(False)
    response = balanced.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "error": "worker_not_ready",
        "message": "none of the 3 image workers is ready yet (loading, warming up or draining); retry in a few seconds",
    }


def test_ready_is_503_unavailable_when_none_of_several_workers_answers(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(IGNORED_PORT, rpc_target=f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}")
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "error": "worker_unavailable",
        "message": "none of the 2 image workers can be reached (UNAVAILABLE); retry in a few seconds",
    }


def test_ready_is_503_unavailable_when_the_dns_name_does_not_resolve(
    make_client: Callable[..., TestClient],
) -> None:
    # .invalid never resolves (RFC 2606), so this needs no network.
    client = make_client(IGNORED_PORT, rpc_target="dns:///worker.invalid:50051")
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "error": "worker_unavailable",
        "message": "the image workers' name (dns:///worker.invalid:50051) does not resolve; retry in a few seconds",
    }


def test_ready_resolves_a_dns_target_and_checks_each_address(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(IGNORED_PORT, rpc_target=f"dns:///localhost:{fake_worker.port}")
    body = client.get("/ready").json()
    # localhost may also resolve to ::1, where the fake (bound to 127.0.0.1) does not listen.
    assert body["workers"]["serving"] == 1
    assert body["workers"]["total"] >= 1


def test_requests_reach_a_dns_target(fake_worker: FakeWorker, make_client: Callable[..., TestClient]) -> None:
    client = make_client(IGNORED_PORT, rpc_target=f"dns:///localhost:{fake_worker.port}")
    assert post_json(client, PROMPT).headers["X-Worker"] == f"fake-{fake_worker.port}"


def test_an_out_of_memory_answer_with_retry_pushback_is_not_retried(
    balanced: TestClient, workers: list[FakeWorker]
) -> None:
    # RESOURCE_EXHAUSTED also answers a job that ran out of memory; the worker marks that answer with gRPC's
    # pushback -1 ("do not retry"), so the job is not run again elsewhere.
    for worker in workers:
        worker.images.error = (grpc.StatusCode.RESOURCE_EXHAUSTED, "out of memory generating 2048x2048")
        worker.images.trailing = (("error-reason", "out_of_memory"), ("grpc-retry-pushback-ms", "-1"))
    response = post_json(balanced, PROMPT)
    assert response.status_code == 503
    assert response.json()["error"] == "out_of_memory"
    assert sum(len(w.images.requests) for w in workers) == 1


def queued(position: int) -> generator_pb2.GenerateImageEvent:
    return generator_pb2.GenerateImageEvent(queued=generator_pb2.Queued(position=position, queue_length=position))


def test_a_stream_whose_worker_dies_while_it_is_queued_is_sent_to_another(
    balanced: TestClient, workers: list[FakeWorker]
) -> None:
    dying = workers[0]
    dying.images.stream_events = [queued(2)]
    dying.images.error = (grpc.StatusCode.UNAVAILABLE, "Socket closed")
    for _ in range(6):
        events = sse_events(post_json(balanced, PROMPT, "/generateimage/stream").text)
        assert events[-1][0] == "done", events
        assert events[-1][1]["worker"] != f"fake-{dying.port}"
    assert dying.images.requests, "no stream reached the dying worker, so none was sent again"


def test_a_stream_whose_worker_dies_after_the_job_started_is_not_sent_again(
    balanced: TestClient, workers: list[FakeWorker]
) -> None:
    dying = workers[0]
    started = generator_pb2.GenerateImageEvent(started=generator_pb2.Started(seed=1, width=512, height=512, steps=4))
    dying.images.stream_events = [queued(1), started]
    dying.images.error = (grpc.StatusCode.UNAVAILABLE, "Socket closed")
    endings = Counter(sse_events(post_json(balanced, PROMPT, "/generateimage/stream").text)[-1][0] for _ in range(6))
    assert endings["error"] == len(dying.images.requests) >= 1
    assert sum(len(w.images.requests) for w in workers) == 6
