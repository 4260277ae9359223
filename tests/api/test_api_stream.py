"""POST /generateimage/stream relays the worker's events as SSE, maps its errors, and refuses before streaming."""

import base64
import json
from typing import Any

import grpc
from fastapi.testclient import TestClient
from genproto import generator_pb2

from tests.api.fakes import PNG, FakeWorker, post_json

PROMPT = '{"positivePrompt": "a cat", "seed": 7, "steps": 4}'
JPEG = b"\xff\xd8\xff\xe0fake jpeg"


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of an SSE body; comments (pings) are skipped."""
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":"))
        if fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def scripted_events() -> list[generator_pb2.GenerateImageEvent]:
    return [
        generator_pb2.GenerateImageEvent(queued=generator_pb2.Queued(position=2, queue_length=2)),
        generator_pb2.GenerateImageEvent(queued=generator_pb2.Queued(position=1, queue_length=1)),
        generator_pb2.GenerateImageEvent(
            started=generator_pb2.Started(
                seed=7,
                width=512,
                height=512,
                steps=4,
                guidance_scale=7,
                queued_seconds=1.5,
                sampler="Euler",
                schedule_type="Uniform",
                count=1,
            )
        ),
        generator_pb2.GenerateImageEvent(progress=generator_pb2.Progress(step=1, total_steps=4, seconds_per_step=0.5)),
        generator_pb2.GenerateImageEvent(
            progress=generator_pb2.Progress(
                step=2, total_steps=4, seconds_per_step=0.5, preview=JPEG, preview_mime_type="image/jpeg"
            )
        ),
    ]


def test_stream_relays_each_worker_event_in_the_documented_shape(client: TestClient, fake_worker: FakeWorker) -> None:
    fake_worker.images.stream_events = scripted_events()
    response = post_json(client, PROMPT, "/generateimage/stream")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["queued", "queued", "started", "progress", "progress", "done"]
    assert events[0][1] == {"position": 2, "queueLength": 2}
    assert events[2][1] == {
        "seed": 7,
        "width": 512,
        "height": 512,
        "steps": 4,
        "guidanceScale": 7.0,
        "queuedSeconds": 1.5,
        "sampler": "Euler",
        "scheduleType": "Uniform",
        "count": 1,
    }
    # An older worker sends no image index or count: one image, the first.
    assert events[3][1] == {"step": 1, "steps": 4, "etaSeconds": 1.5, "imageIndex": 0, "imageCount": 1}
    assert events[4][1]["preview"] == "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    done = events[-1][1]
    assert done["image"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert (done["seed"], done["steps"], done["filename"], done["demoModel"]) == (7, 4, "img-7.png", True)


def test_worker_error_mid_stream_ends_it_with_an_error_event(client: TestClient, fake_worker: FakeWorker) -> None:
    fake_worker.images.stream_events = scripted_events()[:3]
    fake_worker.images.error = (grpc.StatusCode.INTERNAL, "Traceback: secret detail")
    events = sse_events(post_json(client, PROMPT, "/generateimage/stream").text)
    assert events[-1] == (
        "error",
        {"error": "internal_error", "message": "the image worker failed; the gateway's log has the details"},
    )
    assert "secret" not in json.dumps(events)


def test_refusal_before_the_first_event_is_a_plain_http_error_with_the_workers_retry_after(
    client: TestClient, fake_worker: FakeWorker
) -> None:
    fake_worker.images.error = (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "the worker's queue is full: this request would be number 17 in a queue of 16; retry later",
    )
    fake_worker.images.trailing = (("retry-after", "42"),)
    for path in ("/generateimage/stream", "/generateimage"):
        response = post_json(client, PROMPT, path)
        assert response.status_code == 429, path
        assert response.headers["retry-after"] == "42"
        assert response.json()["error"] == "queue_full"
        assert "number 17 in a queue of 16" in response.json()["message"]


def test_stream_validates_like_the_unary_route(client: TestClient, fake_worker: FakeWorker) -> None:
    response = post_json(client, '{"positivePrompt": "a cat", "width": 1001}', "/generateimage/stream")
    assert response.status_code == 422
    assert response.json()["message"] == "width must be a multiple of 8 (got 1001)"
    assert fake_worker.images.requests == []
