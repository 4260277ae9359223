"""Request ids: the client's (when safe) or a new one, in X-Request-Id, in the logs, and sent on to the worker."""

import json
import re
from pathlib import Path

import grpc
import httpx
import pytest
from fastapi.testclient import TestClient

from api.request_id import RequestIdFilter, is_safe
from scripts.devstack import free_port, start_api
from tests.api.fakes import FakeWorker

ROOT = Path(__file__).resolve().parents[2]
PROMPT = {"positivePrompt": "a lighthouse at dusk"}
GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_request_without_an_id_gets_a_new_one(client: TestClient) -> None:
    first, second = client.get("/health"), client.get("/health")
    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_the_clients_id_is_echoed(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-Id": "trace-4bf92f35:00f067aa.1"})
    assert response.headers["x-request-id"] == "trace-4bf92f35:00f067aa.1"


@pytest.mark.parametrize(
    "unsafe", [b"a" * 65, b"two words", b"tab\there", b"<script>", "é-latin-1".encode("latin-1"), b'quote"d', b"a/b"]
)
def test_an_unsafe_id_is_replaced_by_a_new_one(client: TestClient, unsafe: bytes) -> None:
    response = client.get("/health", headers={b"X-Request-Id": unsafe})
    assert GENERATED.fullmatch(response.headers["x-request-id"])


def test_error_answers_carry_the_id_too(client: TestClient) -> None:
    response = client.post("/generateimage", json={"positivePrompt": ""}, headers={"X-Request-Id": "bad-one"})
    assert response.status_code == 422
    assert response.headers["x-request-id"] == "bad-one"


def test_the_id_reaches_the_worker_as_grpc_metadata(client: TestClient, fake_worker: FakeWorker) -> None:
    client.post("/generateimage", json=PROMPT, headers={"X-Request-Id": "unary-42"})
    client.post("/generateimage/stream", json=PROMPT, headers={"X-Request-Id": "stream-42"})
    generated = client.post("/generateimage", json=PROMPT).headers["x-request-id"]
    assert [m.get("x-request-id") for m in fake_worker.images.metadata] == ["unary-42", "stream-42", generated]


def test_the_id_is_exposed_to_the_web_page_through_cors(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": "http://localhost:3000"})
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_the_gateways_log_lines_name_the_request(
    client: TestClient, fake_worker: FakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    fake_worker.images.error = (grpc.StatusCode.INVALID_ARGUMENT, "width 8 is too small")  # logged as a warning
    client.post("/generateimage", json=PROMPT, headers={"X-Request-Id": "req-7"})
    logged = [r for r in caplog.records if r.name == "api.errors"]
    assert logged and all(getattr(r, "request_id", None) == "req-7" for r in logged)


def test_is_safe_accepts_uuids_and_trace_ids() -> None:
    assert is_safe("0af7651916cd43dd8448eb211c80319c")
    assert is_safe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert not is_safe("")


def test_json_logs_of_python_m_api_name_the_request_and_never_the_key() -> None:
    """A real `python -m api` with API_LOG_FORMAT=json: its own lines and uvicorn's access log, one JSON each."""
    # No worker there: the generation fails with a logged 503.
    api = start_api("json-logs", free_port(), API_LOG_FORMAT="json", API_KEYS="the-secret-key-1234567890")
    try:
        url = f"http://127.0.0.1:{api.port}/generateimage"
        secret = {"Authorization": "Bearer the-secret-key-1234567890", "X-Request-Id": "json-log-1"}
        assert httpx.post(url, json=PROMPT, headers=secret, timeout=10).status_code == 503
        wrong = {"Authorization": "Bearer a-guessed-key", "X-Request-Id": "json-log-2"}
        assert httpx.post(url, json=PROMPT, headers=wrong, timeout=10).status_code == 401
    finally:
        api.stop()
    output = api.log()
    # Every line a JSON object, and none with uvicorn's ANSI-coloured copy of the message.
    assert all(line.startswith("{") for line in output.splitlines() if line.strip()), output
    assert "color_message" not in output and "\x1b[" not in output
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert records and all({"asctime", "levelname", "name", "request_id", "message"} <= r.keys() for r in records)
    by_id: dict[str, list[dict[str, str]]] = {r["request_id"]: [] for r in records}
    for record in records:
        by_id[record["request_id"]].append(record)
    assert any(r["name"] == "api.errors" for r in by_id["json-log-1"])  # the worker's failure
    assert any(r["name"] == "uvicorn.access" and "503" in r["message"] for r in by_id["json-log-1"])
    assert any(r["name"] == "api.auth" for r in by_id["json-log-2"])
    assert "the-secret-key" not in output and "a-guessed-key" not in output
