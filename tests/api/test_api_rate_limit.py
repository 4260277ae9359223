"""Rate limits: API_RATE_LIMIT_PER_MINUTE generations per key (or address) in any minute, then 429 rate_limited."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.fakes import FakeWorker

PROMPT = {"positivePrompt": "a lighthouse at dusk"}
KEY, OTHER_KEY = "first-key-0123456789", "second-key-0123456789"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_burst_over_the_limit_gets_429_rate_limited_with_retry_after(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(fake_worker.port, api_keys=f"{KEY},{OTHER_KEY}", api_rate_limit_per_minute=3)
    statuses = [client.post("/generateimage", json=PROMPT, headers=bearer(KEY)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.post("/generateimage", json=PROMPT, headers=bearer(KEY))
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limited"  # not queue_full: waiting for the worker would not help
    assert body["message"].startswith("this API key sent more than 3 generation requests in a minute")
    # The oldest request leaves the moving window a minute after it was made, i.e. within 60 s from now.
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert f"retry in {refused.headers['retry-after']} s" in body["message"]
    # The stream route draws on the same allowance; the refused requests never reached the worker.
    assert client.post("/generateimage/stream", json=PROMPT, headers=bearer(KEY)).status_code == 429
    assert len(fake_worker.images.requests) == 3


def test_another_key_is_unaffected_by_one_keys_burst(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(fake_worker.port, api_keys=f"{KEY},{OTHER_KEY}", api_rate_limit_per_minute=2)
    for _ in range(2):
        client.post("/generateimage", json=PROMPT, headers=bearer(KEY))
    assert client.post("/generateimage", json=PROMPT, headers=bearer(KEY)).status_code == 429
    assert client.post("/generateimage", json=PROMPT, headers=bearer(OTHER_KEY)).status_code == 200


def test_without_keys_the_limit_is_per_client_address(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(fake_worker.port, api_rate_limit_per_minute=1)
    assert client.post("/generateimage", json=PROMPT).status_code == 200
    refused = client.post("/generateimage", json=PROMPT)
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("this address (testclient) sent more than 1 generation request")


def test_health_and_ready_are_never_rate_limited(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(fake_worker.port, api_rate_limit_per_minute=1)
    client.post("/generateimage", json=PROMPT)
    assert [client.get("/health").status_code for _ in range(5)] == [200] * 5
    assert [client.get("/ready").status_code for _ in range(5)] == [200] * 5


def test_the_limit_is_off_by_default(client: TestClient) -> None:
    assert {client.post("/generateimage", json=PROMPT).status_code for _ in range(20)} == {200}
