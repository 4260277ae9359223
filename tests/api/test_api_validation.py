"""Request validation through the real app: each bad request gets its status, code and a precise message."""

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.fakes import FakeWorker, HttpResponse, LiveApi, post_json


def assert_error(response: HttpResponse, status: int, error: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "message": message}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"width": 1001}, "width must be a multiple of 8 (got 1001)"),
        ({"height": 100}, "height must be a multiple of 8 (got 100)"),
        ({"width": 56}, "width must be at least 64 (got 56)"),
        ({"height": 2056}, "height must be at most 2048 (got 2056)"),
        ({"steps": 500}, "steps must be at most 150 (got 500)"),
        ({"steps": 0}, "steps must be at least 1 (got 0)"),
        ({"guidanceScale": 30.5}, "guidanceScale must be at most 30 (got 30.5)"),
        ({"guidanceScale": -1}, "guidanceScale must be at least 0 (got -1)"),
        ({"seed": -1}, "seed must be at least 0 (got -1)"),
        ({"seed": 2**53}, "seed must be at most 9007199254740991 (got 9007199254740992)"),
        ({"width": "512"}, 'width must be an integer (got "512")'),
        ({"width": 512.5}, "width must be an integer (got 512.5)"),
        ({"steps": True}, "steps must be an integer (got true)"),
        ({"guidanceScale": "7"}, 'guidanceScale must be a number (got "7")'),
        ({"negativePrompt": 3}, "negativePrompt must be a string (got 3)"),
    ],
)
def test_generate_rejects_out_of_range_or_mistyped_value(
    client: TestClient, fake_worker: FakeWorker, fields: dict[str, object], message: str
) -> None:
    response = post_json(client, json.dumps({"positivePrompt": "a cat", **fields}))
    assert_error(response, 422, "invalid_value", message)
    assert fake_worker.images.requests == []


def test_generate_rejects_width_not_multiple_of_8(client: TestClient) -> None:
    response = post_json(client, '{"positivePrompt": "a cat", "width": 1001}')
    assert_error(response, 422, "invalid_value", "width must be a multiple of 8 (got 1001)")


def test_generate_rejects_blank_prompt(client: TestClient) -> None:
    response = post_json(client, '{"positivePrompt": "  \\n\\t "}')
    assert_error(response, 422, "invalid_value", "positivePrompt must not be blank")


def test_generate_rejects_missing_prompt(client: TestClient) -> None:
    response = post_json(client, '{"negativePrompt": "blurry"}')
    assert_error(response, 422, "invalid_value", "positivePrompt is required")


def test_generate_rejects_prompt_over_2000_characters(client: TestClient) -> None:
    response = post_json(client, json.dumps({"positivePrompt": "a" * 2500}))
    assert_error(response, 422, "invalid_value", "positivePrompt must be at most 2000 characters (got 2500)")


def test_generate_rejects_negative_prompt_over_2000_characters(client: TestClient) -> None:
    response = post_json(client, json.dumps({"positivePrompt": "a cat", "negativePrompt": "b" * 2001}))
    assert_error(response, 422, "invalid_value", "negativePrompt must be at most 2000 characters (got 2001)")


def test_generate_rejects_nan_guidance(client: TestClient) -> None:
    # Python's JSON decoder accepts NaN, so the model must refuse it itself.
    response = post_json(client, '{"positivePrompt": "a cat", "guidanceScale": NaN}')
    assert_error(response, 422, "invalid_value", "guidanceScale must be a finite number (got NaN)")


def test_generate_names_a_misspelt_field_and_suggests_the_right_one(client: TestClient) -> None:
    response = post_json(client, '{"postivePrompt": "a cat"}')
    assert_error(
        response,
        422,
        "invalid_value",
        "positivePrompt is required; postivePrompt is not a known field (did you mean positivePrompt?)",
    )


def test_generate_lists_the_fields_for_an_unknown_field(client: TestClient) -> None:
    response = post_json(client, '{"positivePrompt": "a cat", "nsfw": true}')
    assert response.status_code == 422
    assert response.json()["message"] == (
        "nsfw is not a known field (the fields are positivePrompt, negativePrompt, width, height, steps, "
        "guidanceScale, seed, format, sampler, scheduleType, count, model, loras, initImage, denoisingStrength, mask, "
        "maskBlur, inpaintingFill, resizeMode, save)"
    )


def test_a_schedule_the_sampler_cannot_follow_names_both_and_what_it_takes(client: TestClient) -> None:
    response = post_json(client, '{"positivePrompt": "a cat", "sampler": "DDIM", "scheduleType": "karras"}')
    assert response.status_code == 422
    assert response.json()["message"] == (
        "scheduleType 'Karras' does not apply to the sampler 'DDIM' (it takes 'Automatic', 'Uniform', 'SGM Uniform')"
    )


def test_seeds_of_several_images_stay_within_the_seed_limit(client: TestClient) -> None:
    body = '{"positivePrompt": "a cat", "seed": 9007199254740990, "count": 3}'
    response = post_json(client, body, "/generateimage/stream")
    assert response.status_code == 422
    assert response.json()["message"] == (
        "seed + count - 1 must be at most 9007199254740991 (got seed 9007199254740990 and count 3)"
    )


def test_generate_reports_every_invalid_field_at_once(client: TestClient) -> None:
    response = post_json(client, '{"positivePrompt": "a cat", "width": 1001, "steps": 500}')
    assert_error(
        response,
        422,
        "invalid_value",
        "width must be a multiple of 8 (got 1001); steps must be at most 150 (got 500)",
    )


def test_generate_rejects_body_that_is_not_an_object(client: TestClient) -> None:
    response = post_json(client, '["a cat"]')
    assert_error(response, 422, "invalid_value", "the request body must be a JSON object (got an array)")


def test_generate_rejects_malformed_json_saying_where(client: TestClient) -> None:
    response = post_json(client, '{\n  "positivePrompt": "a cat"\n  "width": 512}')
    assert_error(
        response,
        400,
        "malformed_json",
        "the request body is not valid JSON: Expecting ',' delimiter at line 3, column 3 (char 32)",
    )


def test_generate_rejects_empty_body(client: TestClient) -> None:
    response = post_json(client, "")
    assert_error(response, 400, "malformed_json", "the request body is empty: send a JSON object")


def test_generate_rejects_body_that_is_not_utf8(client: TestClient) -> None:
    response = client.post(
        "/generateimage", content=b'{"positivePrompt": "\xff"}', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "malformed_json", "the request body could not be read as JSON text (is it UTF-8?)")


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [("text/plain", "text/plain"), ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded")],
)
def test_generate_rejects_body_not_declared_json(client: TestClient, content_type: str, shown: str) -> None:
    response = client.post(
        "/generateimage", content=b'{"positivePrompt": "a cat"}', headers={"Content-Type": content_type}
    )
    assert_error(response, 415, "unsupported_media_type", f"Content-Type must be application/json (got {shown})")


def test_generate_rejects_body_without_content_type(client: TestClient) -> None:
    response = client.post("/generateimage", content=b'{"positivePrompt": "a cat"}')
    assert_error(response, 415, "unsupported_media_type", "Content-Type must be application/json (got no Content-Type)")


def test_generate_accepts_json_content_type_with_charset(client: TestClient, fake_worker: FakeWorker) -> None:
    response = client.post(
        "/generateimage",
        content=b'{"positivePrompt": "a cat"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200
    assert len(fake_worker.images.requests) == 1


def test_generate_rejects_body_over_the_limit_by_content_length(client: TestClient, fake_worker: FakeWorker) -> None:
    body = json.dumps({"positivePrompt": "a cat", "negativePrompt": "x" * 70_000})
    response = post_json(client, body)
    assert_error(
        response,
        413,
        "payload_too_large",
        f"the request body must be at most 65536 bytes without initImage or mask (got {len(body)} bytes)",
    )
    assert fake_worker.images.requests == []


def test_generate_rejects_chunked_body_over_the_limit(live_api: LiveApi, fake_worker: FakeWorker) -> None:
    # A generator body goes out with Transfer-Encoding: chunked and no Content-Length.
    def chunks() -> Iterator[bytes]:
        yield b'{"positivePrompt": "'
        for _ in range(20):
            yield b"x" * 8192

    response = httpx.post(
        f"{live_api.url}/generateimage", content=chunks(), headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    # Read whole (the route takes images up to API_MAX_IMAGE_BODY_BYTES), then refused: it carries no image.
    assert response.json()["message"] == (
        f"the request body must be at most 65536 bytes without initImage or mask (got {20 * 8192 + 20} bytes)"
    )
    assert fake_worker.images.requests == []


def test_generate_accepts_chunked_body_within_the_limit(live_api: LiveApi, fake_worker: FakeWorker) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"positivePrompt": '
        yield b'"a cat"}'

    response = httpx.post(
        f"{live_api.url}/generateimage", content=chunks(), headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert fake_worker.images.requests[0].positive_prompt == "a cat"


def test_body_limit_is_a_setting(fake_worker: FakeWorker, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(fake_worker.port, api_max_body_bytes=1024)
    response = post_json(client, json.dumps({"positivePrompt": "a" * 1100}))
    assert response.status_code == 413
    assert "at most 1024 bytes" in response.json()["message"]


def test_unknown_path_is_404_json(client: TestClient) -> None:
    assert_error(client.get("/nope"), 404, "not_found", "there is no /nope; see /docs for the endpoints")


def test_wrong_method_is_405_json_with_allow(client: TestClient) -> None:
    response = client.get("/generateimage")
    assert_error(response, 405, "method_not_allowed", "GET is not allowed on /generateimage (allowed: POST)")
    assert response.headers["Allow"] == "POST"


def test_generate_accepts_the_limits_themselves(client: TestClient, fake_worker: FakeWorker) -> None:
    body = {
        "positivePrompt": "a" * 2000,
        "negativePrompt": "b" * 2000,
        "width": 64,
        "height": 2048,
        "steps": 150,
        "guidanceScale": 0,
        "seed": 2**53 - 1,
    }
    response = post_json(client, json.dumps(body))
    assert response.status_code == 200, response.text
    sent = fake_worker.images.requests[0]
    assert (sent.width, sent.height, sent.steps, sent.guidance_scale, sent.seed) == (64, 2048, 150, 0.0, 2**53 - 1)


def test_generate_strips_prompt_whitespace_and_takes_null_negative_prompt_as_none(
    client: TestClient, fake_worker: FakeWorker
) -> None:
    response = post_json(client, '{"positivePrompt": "  a cat  ", "negativePrompt": null, "width": null}')
    assert response.status_code == 200, response.text
    sent = fake_worker.images.requests[0]
    assert sent.positive_prompt == "a cat"
    assert sent.negative_prompt == ""
    assert not sent.HasField("width")


def test_generate_rejects_an_unknown_format_naming_the_choices(client: TestClient) -> None:
    response = post_json(client, '{"positivePrompt": "a cat", "format": "gif"}')
    assert response.status_code == 422
    assert response.json()["message"] == "format must be one of 'png', 'jpeg' or 'webp' (got \"gif\")"
