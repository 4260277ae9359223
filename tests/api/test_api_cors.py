"""CORS: the configured web origin may call the gateway and read its headers; other origins may not."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.fakes import FakeWorker, post_json

WEB = "http://localhost:3000"


def preflight(client: TestClient, origin: str) -> dict[str, str]:
    response = client.options(
        "/generateimage",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    return {"status": str(response.status_code), **{k.lower(): v for k, v in response.headers.items()}}


def test_preflight_from_the_web_origin_is_allowed(client: TestClient) -> None:
    headers = preflight(client, WEB)
    assert headers["status"] == "200"
    assert headers["access-control-allow-origin"] == WEB
    assert "POST" in headers["access-control-allow-methods"]
    assert "content-type" in headers["access-control-allow-headers"].lower()


def test_preflight_from_another_origin_is_refused(client: TestClient) -> None:
    headers = preflight(client, "http://evil.example")
    assert headers["status"] == "400"
    assert "access-control-allow-origin" not in headers


def test_image_headers_are_exposed_to_the_web_page(client: TestClient) -> None:
    response = client.post(
        "/generateimage",
        content=b'{"positivePrompt": "a cat"}',
        headers={"Content-Type": "application/json", "Origin": WEB},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == WEB
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    expected = {
        "x-seed",
        "x-width",
        "x-height",
        "x-steps",
        "x-guidance-scale",
        "x-model",
        "x-demo-model",
        "x-generation-seconds",
        "content-disposition",
        "retry-after",
    }
    assert expected <= exposed


def test_error_answers_carry_cors_headers_too(client: TestClient) -> None:
    headers = {"Content-Type": "application/json", "Origin": WEB}
    too_large = client.post("/generateimage", content=b"{" + b" " * 70_000 + b"}", headers=headers)
    invalid = client.post("/generateimage", content=b'{"positivePrompt": ""}', headers=headers)
    for response in (too_large, invalid):
        assert response.headers["Access-Control-Allow-Origin"] == WEB, response.status_code


def test_another_origin_gets_no_cors_headers(client: TestClient) -> None:
    response = client.post(
        "/generateimage",
        content=b'{"positivePrompt": "a cat"}',
        headers={"Content-Type": "application/json", "Origin": "http://evil.example"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_origins_are_a_setting(fake_worker: FakeWorker, make_client: Callable[..., TestClient]) -> None:
    client = make_client(fake_worker.port, api_cors_origins=["https://images.example.com"])
    assert preflight(client, "https://images.example.com")["status"] == "200"
    assert preflight(client, WEB)["status"] == "400"
    assert post_json(client, '{"positivePrompt": "a"}').status_code == 200
