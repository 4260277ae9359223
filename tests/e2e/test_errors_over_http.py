"""Every error a user can cause, through the real api and worker: status, code, and a message naming the value."""

import httpx
import pytest


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"error", "message"}, body
    return response.status_code, body["error"], body["message"]


def test_malformed_json_is_400(http: httpx.Client) -> None:
    response = http.post("/generateimage", content=b'{"positivePrompt": ', headers={"content-type": "application/json"})
    status, code, _ = error_of(response)
    assert (status, code) == (400, "malformed_json")


def test_body_that_is_not_json_is_415(http: httpx.Client) -> None:
    response = http.post("/generateimage", content=b"positivePrompt=cat", headers={"content-type": "text/plain"})
    status, code, _ = error_of(response)
    assert (status, code) == (415, "unsupported_media_type")


def test_body_over_64_kib_is_413_naming_the_limit(http: httpx.Client) -> None:
    response = http.post("/generateimage", json={"positivePrompt": "x" * 70_000})
    status, code, message = error_of(response)
    assert (status, code) == (413, "payload_too_large")
    assert "65536" in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"positivePrompt": "  "}, ["positivePrompt", "blank"]),
        ({"negativePrompt": "blurry"}, ["positivePrompt"]),
        ({"positivePrompt": "x" * 2001}, ["positivePrompt", "2000", "2001"]),
        ({"positivePrompt": "cat", "width": 1001}, ["width", "8", "1001"]),
        ({"positivePrompt": "cat", "height": 4096}, ["height", "2048", "4096"]),
        ({"positivePrompt": "cat", "steps": 500}, ["steps", "150", "500"]),
        ({"positivePrompt": "cat", "guidanceScale": -1}, ["guidanceScale", "0", "-1"]),
        ({"positivePrompt": "cat", "seed": 2**53}, ["seed", str(2**53)]),
        ({"positivePrompt": "cat", "width": "wide"}, ["width", "wide"]),
    ],
)
def test_invalid_values_are_422_naming_field_limit_and_value(
    http: httpx.Client, body: dict[str, object], words: list[str]
) -> None:
    status, code, message = error_of(http.post("/generateimage", json=body))
    assert (status, code) == (422, "invalid_value")
    for word in words:
        assert word in message, message


def test_unknown_route_is_404_in_the_same_shape(http: httpx.Client) -> None:
    status, _, _ = error_of(http.get("/generate"))
    assert status == 404
