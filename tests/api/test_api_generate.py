"""POST /generateimage against a real gRPC server: the PNG and its headers, and what goes on the wire."""

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from genproto import generator_pb2

from api.native.protocol import GATEWAY_FIELDS, GenerateImageRequest
from tests.api.fakes import PNG, FakeWorker, LiveApi, post_json, reply_for


def test_generate_answers_the_workers_png_with_the_values_used(client: TestClient) -> None:
    response = post_json(client, '{"positivePrompt": "a lighthouse at dusk", "negativePrompt": "blurry", "seed": 42}')
    assert response.status_code == 200, response.text
    assert response.content == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == "inline; filename=img-42.png"
    assert response.headers["X-Seed"] == "42"
    assert response.headers["X-Width"] == "512"
    assert response.headers["X-Height"] == "512"
    assert response.headers["X-Steps"] == "20"
    assert response.headers["X-Guidance-Scale"] == "7"
    assert response.headers["X-Model"] == "demo-shapes"
    assert response.headers["X-Demo-Model"] == "true"
    assert response.headers["X-Generation-Seconds"] == "0.250"


def test_generate_original_two_field_request_leaves_every_optional_field_unset(
    client: TestClient, fake_worker: FakeWorker
) -> None:
    response = post_json(client, '{"positivePrompt": "a lighthouse", "negativePrompt": "blurry"}')
    assert response.status_code == 200
    sent = fake_worker.images.requests[0]
    assert (sent.positive_prompt, sent.negative_prompt) == ("a lighthouse", "blurry")
    for name in ("width", "height", "steps", "guidance_scale", "seed"):
        assert not sent.HasField(name), name


def test_generate_sends_zero_values_as_set_not_as_unset(client: TestClient, fake_worker: FakeWorker) -> None:
    response = post_json(client, '{"positivePrompt": "a cat", "seed": 0, "guidanceScale": 0}')
    assert response.status_code == 200
    sent = fake_worker.images.requests[0]
    assert sent.HasField("seed") and sent.seed == 0
    assert sent.HasField("guidance_scale") and sent.guidance_scale == 0.0
    assert response.headers["X-Seed"] == "0"
    assert response.headers["X-Guidance-Scale"] == "0"


def test_generate_sends_every_given_value(client: TestClient, fake_worker: FakeWorker) -> None:
    body = '{"positivePrompt": "a fox", "width": 768, "height": 512, "steps": 25, "guidanceScale": 6.5, "seed": 7}'
    response = post_json(client, body)
    assert response.status_code == 200
    sent = fake_worker.images.requests[0]
    assert (sent.width, sent.height, sent.steps, sent.guidance_scale, sent.seed) == (768, 512, 25, 6.5, 7)
    assert response.headers["X-Guidance-Scale"] == "6.5"
    assert response.headers["X-Width"] == "768"


def test_generate_passes_an_image_larger_than_grpcs_default_4_mib(client: TestClient, fake_worker: FakeWorker) -> None:
    big = PNG + bytes(range(256)) * (12 * 4096)  # ~12 MiB, the size of a 2048x2048 PNG of noise
    fake_worker.images.reply = lambda request: generator_pb2.GenerateImageResponse(
        image=big, mime_type="image/png", filename_hint="big.png"
    )
    response = post_json(client, '{"positivePrompt": "a cat", "width": 2048, "height": 2048}')
    assert response.status_code == 200, response.text
    assert response.content == big


def test_generate_sanitizes_filename_and_non_ascii_model_name(client: TestClient, fake_worker: FakeWorker) -> None:
    def reply(request: generator_pb2.GenerateImageRequest) -> generator_pb2.GenerateImageResponse:
        answer = reply_for(request)
        answer.filename_hint = 'a"b;\r\nc.png'
        answer.model_name = "modèle.safetensors"
        return answer

    fake_worker.images.reply = reply
    response = post_json(client, '{"positivePrompt": "a cat"}')
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "inline; filename=a_b___c.png"
    assert response.headers["X-Model"] == "mod%C3%A8le.safetensors"


def test_schema_fields_are_the_proto_request_fields() -> None:
    # api.native.serving.to_proto relies on this: the model's names are the proto's.
    proto_fields = set(generator_pb2.GenerateImageRequest.DESCRIPTOR.fields_by_name)
    assert set(GenerateImageRequest.model_fields) - GATEWAY_FIELDS == proto_fields


def test_generate_cancels_the_worker_call_when_the_http_client_goes_away(
    live_api: LiveApi, fake_worker: FakeWorker
) -> None:
    fake_worker.images.delay = 30
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{live_api.url}/generateimage",
            json={"positivePrompt": "a cat"},
            timeout=httpx.Timeout(10, read=0.5),
        )
    assert fake_worker.images.cancelled.wait(timeout=5), "the worker's RPC was not cancelled"
    assert time.monotonic() - started < 5


def test_generate_serves_concurrent_requests_each_its_own_answer(live_api: LiveApi, fake_worker: FakeWorker) -> None:
    fake_worker.images.delay = 0.3
    results: dict[int, httpx.Response] = {}

    def call(seed: int) -> None:
        results[seed] = httpx.post(
            f"{live_api.url}/generateimage", json={"positivePrompt": "a", "seed": seed}, timeout=10
        )

    threads = [threading.Thread(target=call, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {seed: r.headers["X-Seed"] for seed, r in results.items()} == {s: str(s) for s in range(6)}
