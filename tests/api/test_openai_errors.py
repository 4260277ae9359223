"""Every error on /v1 in OpenAI's shape, from the one table: validation, auth, 404, 413, worker errors, streams."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient
from genproto import generator_pb2

from tests.api.fakes import MODEL_INFO, FakeWorker, HttpResponse

PROMPT: dict[str, Any] = {"prompt": "a cat", "size": "64x64"}
KEY = "k3y-for-the-openai-dialect"


def openai_error(response: HttpResponse, status: int, code: str, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert (body["error"]["code"], body["error"]["param"]) == (code, param)
    message: str = body["error"]["message"]
    assert message
    return dict(body["error"])


def test_an_unknown_field_is_a_400_naming_it(client: TestClient) -> None:
    error = openai_error(
        client.post("/v1/images/generations", json={**PROMPT, "sizes": "1"}), 400, "invalid_value", "sizes"
    )
    assert error["type"] == "invalid_request_error"
    assert "did you mean size?" in error["message"]


def test_malformed_json_is_a_400(client: TestClient) -> None:
    response = client.post("/v1/images/generations", content=b"{", headers={"content-type": "application/json"})
    openai_error(response, 400, "malformed_json")


def test_a_missing_prompt_is_a_400_naming_it(client: TestClient, fake_worker: FakeWorker) -> None:
    error = openai_error(client.post("/v1/images/generations", json={"n": 1}), 400, "invalid_value", "prompt")
    assert error["message"] == "prompt is required"
    assert fake_worker.images.requests == []


def test_an_unknown_path_is_a_404_in_openais_shape(client: TestClient) -> None:
    openai_error(client.get("/v1/images/variations"), 404, "not_found")


def test_the_keys_middleware_answers_401_in_openais_shape(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    keyed = make_client(fake_worker.port, api_keys=KEY)
    response = keyed.post("/v1/images/generations", json=PROMPT)
    openai_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert keyed.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    # Every other path keeps the native body.
    assert set(keyed.get("/models").json()) == {"error", "message"}


def test_a_body_over_the_limit_is_a_413_in_openais_shape(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    small = make_client(fake_worker.port, api_max_body_bytes=1024, api_max_image_body_bytes=1024)
    response = small.post("/v1/images/generations", json={**PROMPT, "prompt": "x" * 2000})
    openai_error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("status", "reason", "http", "code", "retry"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "queue_full", 429, "queue_full", None),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "out_of_memory", 503, "out_of_memory", "false"),
        (grpc.StatusCode.UNAVAILABLE, "draining", 503, "worker_unavailable", None),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "deadline_exceeded", 504, "deadline_exceeded", "false"),
        (grpc.StatusCode.INTERNAL, "internal", 500, "internal_error", "false"),
        (grpc.StatusCode.INVALID_ARGUMENT, "invalid_value", 400, "invalid_value", None),
    ],
)
def test_worker_errors_come_from_the_one_table_and_say_whether_to_retry(
    client: TestClient,
    fake_worker: FakeWorker,
    status: grpc.StatusCode,
    reason: str,
    http: int,
    code: str,
    retry: str | None,
) -> None:
    fake_worker.images.error = (status, "the worker's words")
    fake_worker.images.trailing = (("error-reason", reason), ("retry-after", "7"))
    response = client.post("/v1/images/generations", json=PROMPT)
    error = openai_error(response, http, code)
    assert error["type"] == {429: "requests", 400: "invalid_request_error"}.get(http, "server_error")
    assert response.headers.get("x-should-retry") == retry
    if http == 429:
        assert response.headers["retry-after"] == "7"


def test_the_rate_limit_is_a_429_the_sdk_may_retry(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    limited = make_client(fake_worker.port, api_rate_limit_per_minute=1)
    assert limited.post("/v1/images/generations", json=PROMPT).status_code == 200
    response = limited.post("/v1/images/generations", json=PROMPT)
    openai_error(response, 429, "rate_limited")
    assert "retry-after" in response.headers and "x-should-retry" not in response.headers


def test_a_worker_error_mid_stream_is_an_error_event_the_sdk_raises(
    client: TestClient, fake_worker: FakeWorker
) -> None:
    started = generator_pb2.Started(seed=1, width=64, height=64, steps=4, count=1)
    fake_worker.images.stream_events = [generator_pb2.GenerateImageEvent(started=started)]
    fake_worker.images.error = (grpc.StatusCode.INTERNAL, "Traceback: secret detail")
    response = client.post("/v1/images/generations", json={**PROMPT, "stream": True})
    assert response.status_code == 200
    blocks = [b for b in response.text.replace("\r\n", "\n").split("\n\n") if "data: " in b]
    last = blocks[-1]
    assert "event: error" in last
    data = json.loads(last.split("data: ", 1)[1])
    assert data["error"]["code"] == "internal_error" and data["error"]["type"] == "server_error"
    assert "secret" not in response.text


@pytest.fixture
def two_at_most() -> Iterator[None]:
    """The fake worker allows 2 images per request (its WORKER_MAX_COUNT)."""
    allowed = MODEL_INFO.max_count
    MODEL_INFO.max_count = 2
    yield
    MODEL_INFO.max_count = allowed


@pytest.mark.usefixtures("two_at_most")
def test_more_images_than_the_workers_allow_is_a_400_naming_n(client: TestClient, fake_worker: FakeWorker) -> None:
    error = openai_error(client.post("/v1/images/generations", json={**PROMPT, "n": 3}), 400, "invalid_value", "n")
    assert error["message"].startswith("n must be at most 2 (got 3)")
    assert fake_worker.images.requests == []


def test_url_with_the_gallery_off_says_why(client: TestClient, fake_worker: FakeWorker) -> None:
    response = client.post("/v1/images/generations", json={**PROMPT, "response_format": "url"})
    error = openai_error(response, 404, "not_found", "response_format")
    assert "API_GALLERY=false" in error["message"]
    assert fake_worker.images.requests == []


def test_an_edit_needs_exactly_one_image(client: TestClient) -> None:
    response = client.post(
        "/v1/images/edits", data={"prompt": "a cat"}, files=[("image[]", ("a.png", b"1")), ("image[]", ("b.png", b"2"))]
    )
    openai_error(response, 400, "invalid_value", "image")
    response = client.post("/v1/images/edits", data={"prompt": "a cat"}, files=[("mask", ("m.png", b"1"))])
    openai_error(response, 400, "invalid_value", "image")


def test_an_edit_sends_the_image_and_its_values_to_the_worker(client: TestClient, fake_worker: FakeWorker) -> None:
    response = client.post(
        "/v1/images/edits",
        data={"prompt": "a cat", "n": "1", "size": "64x64", "denoising_strength": "0.5", "steps": "3"},
        files=[("image", ("a.png", b"the image bytes", "image/png"))],
    )
    assert response.status_code == 200, response.text
    (sent,) = fake_worker.images.requests
    assert (sent.init_image, sent.denoising_strength, sent.steps, sent.width) == (b"the image bytes", 0.5, 3, 64)
