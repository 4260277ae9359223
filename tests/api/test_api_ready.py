"""GET /health (the gateway) and GET /ready (the worker's health and model)."""

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.fakes import FakeWorker, free_port


def test_health_is_the_original_shape(client: TestClient) -> None:
    before = int(time.time())
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "timestamp"}
    assert body["status"] == 200
    assert isinstance(body["timestamp"], int)
    assert before <= body["timestamp"] <= int(time.time())


def test_health_answers_without_a_worker(make_client: Callable[..., TestClient]) -> None:
    assert make_client(free_port()).get("/health").status_code == 200


def test_ready_reports_the_model_when_the_worker_is_serving(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "model": "demo-shapes",
        "demoModel": True,
        "description": "flat shapes on flat backgrounds",
        "device": "cpu",
        "dtype": "float32",
        "defaults": {"width": 512, "height": 512, "steps": 20, "guidanceScale": 7.0, "sampler": "Euler"},
        "maxCount": 8,
        "queue": {"length": 3, "capacity": 16},
        "workers": {"serving": 1, "total": 1},
        "gallery": False,
    }


def test_ready_is_503_not_ready_while_the_worker_is_not_serving(client: TestClient, fake_worker: FakeWorker) -> None:
    fake_worker.set_serving(False)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "error": "worker_not_ready",
        "message": "the image worker is not ready yet (loading, warming up or draining); retry in a few seconds",
    }
    fake_worker.set_serving(True)
    assert client.get("/ready").status_code == 200


def test_ready_is_503_unavailable_fast_when_the_worker_is_not_listening(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(free_port())
    started = time.monotonic()
    response = client.get("/ready")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json() == {
        "error": "worker_unavailable",
        "message": "the image worker cannot be reached (UNAVAILABLE); retry in a few seconds",
    }
