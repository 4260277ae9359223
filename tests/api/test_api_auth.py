"""API keys: off by default; when set, every route but /health and /ready needs a valid Bearer key."""

import base64
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.auth import ApiKeys, basic_password, bearer_token, presented_key
from tests.api.fakes import PNG, FakeWorker, HttpResponse

KEY = "k3y-For-The-Web-Page-0123456789"
OTHER_KEY = "another-key-for-a-script-abcdef"
PROMPT = {"positivePrompt": "a lighthouse at dusk"}


@pytest.fixture
def keyed(fake_worker: FakeWorker, make_client: Callable[..., TestClient]) -> TestClient:
    """The app with two API keys, given as API_KEYS."""
    return make_client(fake_worker.port, api_keys=f"{KEY}, {OTHER_KEY}")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def assert_unauthorized(response: HttpResponse) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["error"] == "unauthorized"
    # No detail: the same words whether a key was sent or not, and never whether it exists.
    assert body["message"] == (
        "a valid API key is required: send Authorization: Bearer <key>, or Basic auth with the key as the password"
    )


def test_without_keys_configured_no_key_is_needed(client: TestClient) -> None:
    assert client.post("/generateimage", json=PROMPT).status_code == 200
    assert client.get("/metrics").status_code == 200


def test_generate_without_a_key_is_401(keyed: TestClient, fake_worker: FakeWorker) -> None:
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT))
    assert fake_worker.images.requests == []  # refused before the worker is asked


def test_generate_with_a_wrong_key_is_401_with_the_same_message(keyed: TestClient) -> None:
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT, headers=bearer("not-a-key")))


def test_a_key_in_the_wrong_case_is_refused(keyed: TestClient) -> None:
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT, headers=bearer(KEY.upper())))
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT, headers=bearer(KEY.lower())))


def test_a_key_without_the_bearer_scheme_is_refused(keyed: TestClient) -> None:
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT, headers={"Authorization": KEY}))
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT, headers={"Authorization": f"Basic {KEY}"}))


def test_a_valid_bearer_key_is_served(keyed: TestClient) -> None:
    response = keyed.post("/generateimage", json=PROMPT, headers=bearer(KEY))
    assert response.status_code == 200 and response.content == PNG
    # The scheme is case-insensitive (RFC 7235); the key is not.
    assert (
        keyed.post("/generateimage", json=PROMPT, headers={"Authorization": f"bearer {OTHER_KEY}"}).status_code == 200
    )


def test_health_and_ready_are_open_without_a_key(keyed: TestClient) -> None:
    assert keyed.get("/health").status_code == 200
    assert keyed.get("/ready").status_code == 200


def test_every_other_route_needs_the_key(keyed: TestClient) -> None:
    for path in ("/metrics", "/openapi.json", "/docs", "/no-such-route"):
        assert_unauthorized(keyed.get(path))
    assert_unauthorized(keyed.post("/generateimage/stream", json=PROMPT))
    assert keyed.get("/metrics", headers=bearer(KEY)).status_code == 200
    assert keyed.get("/no-such-route", headers=bearer(KEY)).status_code == 404


def test_an_unauthenticated_body_is_not_read(keyed: TestClient) -> None:
    # 401, not 413: the key is checked before the body limit reads anything.
    response = keyed.post("/generateimage", content=b"x" * 200_000, headers={"Content-Type": "application/json"})
    assert_unauthorized(response)


def test_a_key_file_of_sha256_digests_turns_keys_on(
    tmp_path: Path, fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    keys_file = tmp_path / "api-keys.sha256"
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    keys_file.write_text(f"# the web page\n{digest.upper()}  # upper-case hex is fine\n\n")
    client = make_client(fake_worker.port, api_keys_file=keys_file)
    assert_unauthorized(client.post("/generateimage", json=PROMPT))
    assert_unauthorized(client.post("/generateimage", json=PROMPT, headers=bearer(digest)))  # the digest is no key
    assert client.post("/generateimage", json=PROMPT, headers=bearer(KEY)).status_code == 200


def test_keys_never_reach_the_logs(keyed: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyed.post("/generateimage", json=PROMPT, headers=bearer(KEY))
    keyed.post("/generateimage", json=PROMPT, headers=bearer("a-wrong-key-somebody-tried"))
    assert "refused POST /generateimage: invalid API key" in caplog.text
    assert KEY not in caplog.text and "a-wrong-key-somebody-tried" not in caplog.text


def test_the_schema_declares_bearer_auth_on_every_route_but_the_public_ones(keyed: TestClient) -> None:
    schema = keyed.get("/openapi.json", headers=bearer(KEY)).json()
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (API_KEYS).",
    }
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            expected: list[dict[str, list[str]]] | None = None if path in ("/health", "/ready") else [{"apiKey": []}]
            assert operation.get("security") == expected, path


def test_cors_lets_the_web_page_send_its_key(keyed: TestClient) -> None:
    response = keyed.options(
        "/generateimage",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200  # a preflight carries no credentials and is not refused
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_identify_compares_against_every_digest_and_names_the_matching_key() -> None:
    keys = ApiKeys([hashlib.sha256(k.encode()).digest() for k in (KEY, OTHER_KEY)])
    assert keys.identify(OTHER_KEY) == hashlib.sha256(OTHER_KEY.encode()).hexdigest()
    assert keys.identify(KEY + " ") is None
    assert keys.identify("") is None
    assert not ApiKeys([])


def test_bearer_token_reads_only_the_bearer_scheme() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("BEARER   abc ") == "abc"
    assert bearer_token("Bearer") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token("Token abc") is None
    assert bearer_token("") is None


def test_basic_auth_with_the_key_as_password_is_served(keyed: TestClient, fake_worker: FakeWorker) -> None:
    # A1111's --api-auth clients (webuiapi's set_auth, Open WebUI's "user:key") send HTTP Basic.
    response = keyed.post("/generateimage", json=PROMPT, headers=basic("anyone", KEY))
    assert response.status_code == 200 and response.content == PNG
    assert keyed.get("/metrics", headers=basic("", OTHER_KEY)).status_code == 200  # the user name is not looked at
    lower_case_scheme = {"Authorization": basic("u", KEY)["Authorization"].replace("Basic", "basic")}
    assert keyed.get("/metrics", headers=lower_case_scheme).status_code == 200  # RFC 7235: any case


def test_basic_auth_with_a_wrong_or_no_password_is_401_with_the_same_message(keyed: TestClient) -> None:
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT, headers=basic("user", "not-a-key")))
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT, headers=basic(KEY, "")))  # the key as the user
    assert_unauthorized(keyed.post("/generateimage", json=PROMPT, headers={"Authorization": "Basic !!not-base64"}))


def test_basic_auth_is_counted_as_the_same_key_as_bearer(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient]
) -> None:
    # The rate limiter and the gallery know a client by its key, however it was sent.
    client = make_client(fake_worker.port, api_keys=KEY, api_rate_limit_per_minute=1)
    assert client.post("/generateimage", json=PROMPT, headers=bearer(KEY)).status_code == 200
    assert client.post("/generateimage", json=PROMPT, headers=basic("u", KEY)).status_code == 429


def test_basic_password_reads_only_the_basic_scheme() -> None:
    encoded = base64.b64encode(b"user:pa:ss").decode()
    assert basic_password(f"Basic {encoded}") == "pa:ss"  # everything after the first colon
    assert basic_password(f"BASIC  {encoded} ") == "pa:ss"
    assert basic_password("Basic " + base64.b64encode(b"no-colon").decode()) is None
    assert basic_password("Basic " + base64.b64encode(b"user:").decode()) is None
    assert basic_password("Basic " + base64.b64encode(b"\xff:\xfe").decode()) is None  # not UTF-8
    assert basic_password("Basic") is None
    assert basic_password(f"Bearer {encoded}") is None
    assert presented_key("Bearer abc") == "abc"
    assert presented_key(f"Basic {encoded}") == "pa:ss"
    assert presented_key("") is None
