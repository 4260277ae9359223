"""GET /metrics: Prometheus text with request counts by route and status, latency, and the gateway's own counters."""

from collections.abc import Callable

import grpc
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.api.fakes import FakeWorker

PROMPT = {"positivePrompt": "a lighthouse at dusk"}


def scrape(client: TestClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_requests_by_route_and_status(client: TestClient) -> None:
    before = count("http_requests_total", handler="/generateimage", method="POST", status="200")
    before_422 = count("http_requests_total", handler="/generateimage", method="POST", status="422")
    client.post("/generateimage", json=PROMPT)
    client.post("/generateimage", json={"positivePrompt": ""})
    samples = scrape(client)
    key = ("http_requests_total", (("handler", "/generateimage"), ("method", "POST"), ("status", "200")))
    assert samples[key] == before + 1
    key_422 = ("http_requests_total", (("handler", "/generateimage"), ("method", "POST"), ("status", "422")))
    assert samples[key_422] == before_422 + 1


def test_metrics_have_a_latency_histogram_by_route(client: TestClient) -> None:
    client.get("/health")
    samples = scrape(client)
    buckets = [
        dict(labels)["le"]
        for (name, labels) in samples
        if name == "http_request_duration_seconds_bucket" and dict(labels)["handler"] == "/health"
    ]
    # Buckets up to minutes: a generation on a CPU takes that long.
    assert {"0.1", "1.0", "30.0", "300.0", "+Inf"} <= set(buckets)


def test_unknown_paths_share_one_series(client: TestClient) -> None:
    before = count("http_requests_total", handler="none", method="GET", status="404")
    client.get("/no-such-route-1")
    client.get("/no-such-route-2")
    assert count("http_requests_total", handler="none", method="GET", status="404") == before + 2


def test_worker_errors_are_counted_by_grpc_code(client: TestClient, fake_worker: FakeWorker) -> None:
    before = count("imggen_api_worker_errors_total", code="INVALID_ARGUMENT")
    fake_worker.images.error = (grpc.StatusCode.INVALID_ARGUMENT, "width 8 is too small")
    assert client.post("/generateimage", json=PROMPT).status_code == 422
    assert client.post("/generateimage/stream", json=PROMPT).status_code == 422
    assert count("imggen_api_worker_errors_total", code="INVALID_ARGUMENT") == before + 2


def test_rate_limited_requests_and_auth_failures_are_counted(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(fake_worker.port, api_keys="metrics-key-0123456789", api_rate_limit_per_minute=1)
    limited = count("imggen_api_rate_limited_total", route="/generateimage")
    missing, invalid = (
        count("imggen_api_auth_failures_total", reason="missing"),
        count("imggen_api_auth_failures_total", reason="invalid"),
    )
    key = {"Authorization": "Bearer metrics-key-0123456789"}
    client.post("/generateimage", json=PROMPT, headers=key)
    assert client.post("/generateimage", json=PROMPT, headers=key).status_code == 429
    client.get("/metrics")
    client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    samples = scrape(client, **key)
    assert samples[("imggen_api_rate_limited_total", (("route", "/generateimage"),))] == limited + 1
    assert samples[("imggen_api_auth_failures_total", (("reason", "missing"),))] == missing + 1
    assert samples[("imggen_api_auth_failures_total", (("reason", "invalid"),))] == invalid + 1
    assert count("http_requests_total", handler="/metrics", method="GET", status="401") >= 2
