"""Each worker answer (gRPC status) becomes the right HTTP status and `{error, message}` body."""

import time
from collections.abc import Callable

import grpc
import pytest
from fastapi.testclient import TestClient

from scripts.devstack import wait_until
from tests.api.fakes import FakeWorker, free_port, post_json, start_fake_worker

PROMPT = '{"positivePrompt": "a cat"}'
QUEUE_FULL = grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
    ("code", "details", "status", "error", "message"),
    [
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "width must be a multiple of 8 (got 1001)",
            422,
            "invalid_value",
            "width must be a multiple of 8 (got 1001)",
        ),
        (
            grpc.StatusCode.UNAVAILABLE,
            "the model is still loading",
            503,
            "worker_unavailable",
            "the image worker is unavailable (loading, draining or down); retry in a few seconds",
        ),
        (
            grpc.StatusCode.CANCELLED,
            "draining",
            503,
            "worker_unavailable",
            "the image worker is unavailable (loading, draining or down); retry in a few seconds",
        ),
        (
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "deadline passed while queued",
            504,
            "deadline_exceeded",
            "the image was not ready within 300 s (API_GENERATE_TIMEOUT_SECONDS)",
        ),
        (
            grpc.StatusCode.INTERNAL,
            "Traceback (most recent call last): secret detail",
            500,
            "internal_error",
            "the image worker failed; the gateway's log has the details",
        ),
        (
            grpc.StatusCode.UNKNOWN,
            "boom",
            500,
            "internal_error",
            "the image worker failed; the gateway's log has the details",
        ),
    ],
)
def test_worker_error_maps_to_status_and_body(
    client: TestClient,
    fake_worker: FakeWorker,
    code: grpc.StatusCode,
    details: str,
    status: int,
    error: str,
    message: str,
) -> None:
    fake_worker.images.error = (code, details)
    response = post_json(client, PROMPT)
    assert response.status_code == status
    assert response.json() == {"error": error, "message": message}
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize(
    ("reason", "details", "status", "error"),
    [
        # The reason decides, never the words: an OOM message without "memory" is still out of memory ...
        ("out_of_memory", "2048x2048 in 30 steps did not fit; try a smaller size", 503, "out_of_memory"),
        # ... and a full queue whose message mentions memory is still a full queue.
        ("queue_full", "the worker's queue is full (memory of 16 jobs); retry later", 429, "queue_full"),
    ],
)
def test_resource_exhausted_is_told_apart_by_its_reason(
    client: TestClient, fake_worker: FakeWorker, reason: str, details: str, status: int, error: str
) -> None:
    fake_worker.images.error = (grpc.StatusCode.RESOURCE_EXHAUSTED, details)
    fake_worker.images.trailing = (("error-reason", reason),)
    response = post_json(client, PROMPT)
    assert response.status_code == status
    assert response.json() == {"error": error, "message": details}
    assert ("Retry-After" in response.headers) == (reason == "queue_full")


def test_queue_full_is_429_with_retry_after(client: TestClient, fake_worker: FakeWorker) -> None:
    fake_worker.images.error = (QUEUE_FULL, "the worker's queue is full (16 of 16 waiting); retry later")
    response = post_json(client, PROMPT)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {
        "error": "queue_full",
        "message": "the worker's queue is full (16 of 16 waiting); retry later",
    }


def test_queue_full_retry_after_is_the_last_generation_time(client: TestClient, fake_worker: FakeWorker) -> None:
    default_reply = fake_worker.images.reply

    def slow(request):  # type: ignore[no-untyped-def]
        reply = default_reply(request)
        reply.generation_seconds = 7.2
        return reply

    fake_worker.images.reply = slow
    assert post_json(client, PROMPT).status_code == 200
    fake_worker.images.error = (QUEUE_FULL, "the worker's queue is full (16 of 16 waiting); retry later")
    assert post_json(client, PROMPT).headers["Retry-After"] == "8"


def test_generation_past_the_deadline_setting_is_504(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(fake_worker.port, api_generate_timeout_seconds=0.5)
    fake_worker.images.delay = 5
    started = time.monotonic()
    response = post_json(client, PROMPT)
    assert time.monotonic() - started < 3
    assert response.status_code == 504
    assert response.json() == {
        "error": "deadline_exceeded",
        "message": "the image was not ready within 0.5 s (API_GENERATE_TIMEOUT_SECONDS)",
    }


def test_worker_not_listening_is_503_within_seconds(make_client: Callable[..., TestClient]) -> None:
    client = make_client(free_port())
    started = time.monotonic()
    response = post_json(client, PROMPT)
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["error"] == "worker_unavailable"


def test_gateway_serves_again_when_the_worker_comes_back_without_restart(
    make_client: Callable[..., TestClient],
) -> None:
    port = free_port()
    client = make_client(port)
    assert post_json(client, PROMPT).status_code == 503
    assert client.get("/ready").status_code == 503
    worker = start_fake_worker(port)
    try:
        started = time.monotonic()

        def served() -> bool:
            status = post_json(client, PROMPT).status_code
            assert status in (200, 503)
            return status == 200

        wait_until(served, 10, "the gateway reconnected", 0.1)
        # The reconnect backoff is capped at 2 s, so a restarted worker is used again quickly.
        assert time.monotonic() - started < 5
        assert client.get("/ready").status_code == 200
    finally:
        worker.server.stop(grace=None)


def test_worker_stopping_mid_service_is_503_then_recovers(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(fake_worker.port)
    assert post_json(client, PROMPT).status_code == 200
    fake_worker.server.stop(grace=None).wait()
    started = time.monotonic()
    response = post_json(client, PROMPT)
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    restarted = start_fake_worker(fake_worker.port)
    try:
        wait_until(lambda: post_json(client, PROMPT).status_code == 200, 10, "the gateway reconnected", 0.1)
    finally:
        restarted.server.stop(grace=None)


def test_unexpected_gateway_error_is_generic_500_json_with_cors(client: TestClient) -> None:
    async def broken(request: object) -> None:
        raise RuntimeError("secret detail of a gateway bug")

    client.app.state.worker.generate = broken  # type: ignore[attr-defined]
    response = client.post(
        "/generateimage",
        content=PROMPT.encode(),
        headers={"Content-Type": "application/json", "Origin": "http://localhost:3000"},
    )
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "the gateway failed unexpectedly; its log has the details",
    }
    # A browser can read it: the 500 is rendered inside the CORS middleware.
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
