"""OpenAI's Images API at /v1, driven by the real `openai` SDK, unchanged, against the real stack (demo model)."""

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from scripts.devstack import Service, start_api
from tests.e2e.images import png_pixels

pytestmark = pytest.mark.e2e

# Small and few steps: these tests are about the dialect, not the drawing (2 CPU cores).
SMALL: dict[str, Any] = {"size": "64x64", "extra_body": {"steps": 2}}
KEY = "key-for-the-openai-sdk"


def client_for(api: Service, key: str = "unused") -> openai.OpenAI:
    # max_retries=0: a failure shows at once instead of after the SDK's back-off.
    return openai.OpenAI(base_url=f"http://127.0.0.1:{api.port}/v1", api_key=key, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def client(api: Service) -> Iterator[openai.OpenAI]:
    with client_for(api) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def keyed_api(worker: Service) -> Iterator[Service]:
    """An api with an API key, in front of the shared worker."""
    service = start_api("openai-keys", worker.port, API_KEYS=KEY)
    yield service
    service.stop()


def decoded(b64: str | None) -> bytes:
    assert b64 is not None
    return base64.b64decode(b64)


def png_of(pixels: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_generate_answers_n_images_of_the_size_as_base64(client: openai.OpenAI) -> None:
    answer = client.images.generate(prompt="a lighthouse at dusk", n=2, **SMALL)
    assert answer.data is not None and len(answer.data) == 2
    for image in answer.data:
        assert png_pixels(decoded(image.b64_json)).shape == (64, 64, 3)
        assert image.url is None and image.revised_prompt is None
    assert (answer.size, answer.output_format, answer.quality) == ("64x64", "png", "auto")
    # Seeds seed, seed+1: two different images.
    assert answer.data[0].b64_json != answer.data[1].b64_json


def test_the_same_seed_gives_the_same_pixels_and_another_seed_others(client: openai.OpenAI) -> None:
    def pixels(seed: int) -> np.ndarray[Any, Any]:
        answer = client.images.generate(prompt="a fox", size="64x64", extra_body={"seed": seed, "steps": 2})
        assert answer.data is not None
        return png_pixels(decoded(answer.data[0].b64_json))

    first = pixels(7)
    assert np.array_equal(first, pixels(7))
    assert not np.array_equal(first, pixels(8))


def test_output_format_and_quality_come_back(client: openai.OpenAI) -> None:
    answer = client.images.generate(
        prompt="a fox", size="64x72", output_format="jpeg", quality="low", **{"extra_body": {"num_inference_steps": 2}}
    )
    assert answer.data is not None
    image = Image.open(io.BytesIO(decoded(answer.data[0].b64_json)))
    assert (image.format, image.size) == ("JPEG", (64, 72))
    assert (answer.output_format, answer.quality, answer.size) == ("jpeg", "low", "64x72")


def test_url_is_the_gallery_file_with_the_same_bytes_and_the_user(client: openai.OpenAI, api: Service) -> None:
    body = {"prompt": "a red fox", "size": "64x64", "extra_body": {"seed": 11, "steps": 2}}
    by_url = client.images.generate(response_format="url", user="end-user-42", **body)
    inline = client.images.generate(**body)
    assert by_url.data is not None and inline.data is not None
    url = by_url.data[0].url
    assert url is not None and url.startswith(f"http://127.0.0.1:{api.port}/images/") and url.endswith("/file")
    fetched = httpx.get(url, timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == decoded(inline.data[0].b64_json)
    row = httpx.get(url.removesuffix("/file"), timeout=30).json()
    assert row["user"] == "end-user-42"
    assert row["positivePrompt"] == "a red fox" and row["seed"] == 11


def test_streaming_yields_partial_images_then_the_completed_one(client: openai.OpenAI) -> None:
    # The worker previews every 5 steps: 11 steps give previews at 5 and 10, both sent as partial images.
    events = list(
        client.images.generate(
            prompt="a lighthouse", size="64x64", stream=True, partial_images=2, extra_body={"steps": 11, "seed": 5}
        )
    )
    assert [e.type for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    partials = [e for e in events if isinstance(e, openai.types.ImageGenPartialImageEvent)]
    assert [p.partial_image_index for p in partials] == [0, 1]
    for partial in partials:
        assert Image.open(io.BytesIO(decoded(partial.b64_json))).format == "JPEG"
    completed = events[-1]
    assert isinstance(completed, openai.types.ImageGenCompletedEvent)
    assert png_pixels(decoded(completed.b64_json)).shape == (64, 64, 3)
    assert (completed.size, completed.output_format) == ("64x64", "png")
    # The streamed image is the one a plain request with the same values answers.
    plain = client.images.generate(prompt="a lighthouse", size="64x64", extra_body={"steps": 11, "seed": 5})
    assert plain.data is not None and plain.data[0].b64_json == completed.b64_json


def test_edit_repaints_only_the_transparent_area_of_the_mask(client: openai.OpenAI) -> None:
    source = np.random.default_rng(1).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    # OpenAI's convention: transparent = edit. The top half is edited, the bottom half kept.
    mask = np.full((64, 64, 4), 255, dtype=np.uint8)
    mask[:32, :, 3] = 0
    answer = client.images.edit(
        image=("source.png", png_of(source), "image/png"),
        mask=("mask.png", png_of(mask), "image/png"),
        prompt="a red door",
        extra_body={"steps": 4, "seed": 3, "mask_blur": 0},
    )
    assert answer.data is not None and answer.size == "64x64"
    out = png_pixels(decoded(answer.data[0].b64_json))
    assert np.array_equal(out[32:], source[32:])
    assert not np.array_equal(out[:32], source[:32])


def test_edit_without_a_mask_redraws_the_image(client: openai.OpenAI) -> None:
    source = np.random.default_rng(2).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    answer = client.images.edit(
        image=("source.png", png_of(source), "image/png"), prompt="a red door", n=1, extra_body={"steps": 2}
    )
    assert answer.data is not None
    assert not np.array_equal(png_pixels(decoded(answer.data[0].b64_json)), source)


def test_models_list_is_the_library(client: openai.OpenAI, http: httpx.Client) -> None:
    native = {m["name"] for m in http.get("/models").json()}
    listed = list(client.models.list())
    assert {m.id for m in listed} == native
    assert all(m.object == "model" for m in listed)
    first = listed[0].id
    assert client.models.retrieve(first).id == first


@pytest.mark.parametrize(
    ("values", "param", "words"),
    [
        ({"size": "1001x64"}, "size", "size's width must be a multiple of 8 (got 1001)"),
        ({"size": "big"}, "size", "size must be auto or WIDTHxHEIGHT"),
        ({"n": 12}, "n", "n must be at most"),
        ({"quality": "ultra"}, "quality", "quality must be one of"),
        ({"background": "transparent"}, "background", "no alpha channel"),
        ({"extra_body": {"steps": 0}}, "steps", "steps must be at least 1 (got 0)"),
        ({"extra_body": {"num_inference_steps": 999}}, "num_inference_steps", "must be at most 150"),
        ({"extra_body": {"sampler": "Nope"}}, "sampler", "sampler must be one of"),
    ],
)
def test_an_invalid_value_is_a_bad_request_naming_its_param(
    client: openai.OpenAI, values: dict[str, Any], param: str, words: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(prompt="a fox", **values)
    assert raised.value.status_code == 400
    assert raised.value.param == param
    assert raised.value.code == "invalid_value"
    assert words in raised.value.message


def test_an_openai_model_name_is_not_found_and_the_library_is_named(client: openai.OpenAI, http: httpx.Client) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.images.generate(prompt="a fox", model="dall-e-3")
    assert raised.value.param == "model"
    for model in http.get("/models").json():
        assert model["name"] in raised.value.message


def test_no_key_is_an_authentication_error_and_the_key_works(keyed_api: Service) -> None:
    with client_for(keyed_api, "not-the-key") as wrong, pytest.raises(openai.AuthenticationError) as raised:
        wrong.models.list()
    assert raised.value.status_code == 401
    assert isinstance(raised.value.body, dict) and raised.value.body["code"] == "unauthorized"
    with client_for(keyed_api, KEY) as right:
        assert right.images.generate(prompt="a fox", **SMALL).data
