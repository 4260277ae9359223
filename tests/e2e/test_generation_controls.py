"""Samplers, several images per request and the parameters inside each file, on the real stack (demo model)."""

import base64
import io
import json
from typing import Any

import httpx
import numpy as np
import pytest
from genproto import samplers
from httpx_sse import connect_sse
from PIL import Image
from sd_parsers import ParserManager

from tests.e2e.images import png_pixels

SMALL: dict[str, Any] = {"positivePrompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 4, "seed": 7}


def generate(http: httpx.Client, **body: Any) -> httpx.Response:
    response = http.post("/generateimage", json={**SMALL, **body})
    assert response.status_code == 200, response.text
    return response


def stream_done(http: httpx.Client, **body: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `done` event's data of a streamed request, and every progress event's."""
    progress = []
    with connect_sse(http, "POST", "/generateimage/stream", json={**SMALL, **body}) as source:
        assert source.response.status_code == 200, source.response.read()
        for event in source.iter_sse():
            data = json.loads(event.data)
            if event.event == "progress":
                progress.append(data)
            if event.event == "error":
                raise AssertionError(data)
            if event.event == "done":
                return data, progress
    raise AssertionError("the stream ended without done")


def data_url_pixels(url: str) -> np.ndarray:
    return png_pixels(base64.b64decode(url.split(",", 1)[1]))


@pytest.mark.parametrize("sampler", samplers.NAMES)
def test_every_sampler_runs_says_so_and_is_reproducible(http: httpx.Client, sampler: str) -> None:
    first = generate(http, sampler=sampler)
    again = generate(http, sampler=sampler)
    assert first.headers["x-sampler"] == sampler
    assert first.content == again.content, f"{sampler}: the same seed gave other pixels"


def test_different_samplers_draw_different_pixels(http: httpx.Client) -> None:
    names = ("Euler", "Euler a", "DPM++ 2M", "DDIM")
    pictures = {name: png_pixels(generate(http, sampler=name).content) for name in names}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not np.array_equal(pictures[a], pictures[b]), f"{a} and {b} gave the same pixels"


def test_unset_sampler_is_the_models_own_euler(http: httpx.Client) -> None:
    unset = generate(http)
    assert unset.headers["x-sampler"] == "Euler"
    assert unset.headers["x-schedule-type"] == "Uniform"
    assert unset.content == generate(http, sampler="Euler").content


def test_schedule_types_and_legacy_karras_names(http: httpx.Client) -> None:
    karras = generate(http, sampler="DPM++ 2M", scheduleType="Karras")
    assert karras.headers["x-schedule-type"] == "Karras"
    # A1111's old combined name is the same sampler on the same schedule; "Automatic" is the sampler's own (Karras).
    assert generate(http, sampler="DPM++ 2M Karras").content == karras.content
    assert generate(http, sampler="dpm++ 2m", scheduleType="Automatic").content == karras.content
    uniform = generate(http, sampler="DPM++ 2M", scheduleType="Uniform")
    assert uniform.headers["x-schedule-type"] == "Uniform" and uniform.content != karras.content


def test_an_unknown_sampler_is_a_422_that_lists_the_names(http: httpx.Client) -> None:
    response = http.post("/generateimage", json={**SMALL, "sampler": "Euler b"})
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith("sampler must be one of ") and '(got "Euler b")' in message
    assert all(f"'{name}'" in message for name in samplers.NAMES)


def test_samplers_route_lists_them_as_a1111_does(http: httpx.Client) -> None:
    listed = http.get("/samplers").json()
    assert [s["name"] for s in listed] == list(samplers.NAMES)
    dpm = next(s for s in listed if s["name"] == "DPM++ 2M")
    assert "k_dpmpp_2m" in dpm["aliases"] and "DPM++ 2M Karras" in dpm["aliases"]
    assert dpm["options"]["scheduler"] == "karras" and "Karras" in dpm["scheduleTypes"]


def test_count_gives_consecutive_seeds_each_equal_to_its_single_request(http: httpx.Client) -> None:
    done, progress = stream_done(http, count=3, seed=100)
    assert [image["seed"] for image in done["images"]] == [100, 101, 102]
    assert done["image"] == done["images"][0]["image"] and done["seed"] == 100
    for image in done["images"]:
        alone = generate(http, seed=image["seed"])
        assert np.array_equal(data_url_pixels(image["image"]), png_pixels(alone.content)), image["seed"]
    # Progress says which image of how many.
    assert {(p["imageIndex"], p["imageCount"]) for p in progress} == {(0, 3), (1, 3), (2, 3)}


def test_count_above_one_on_the_unary_route_names_the_stream_route(http: httpx.Client) -> None:
    response = http.post("/generateimage", json={**SMALL, "count": 2})
    assert response.status_code == 422
    assert response.json()["message"] == (
        "count must be 1 here (got 2): several images per request come from POST /generateimage/stream"
    )


@pytest.mark.parametrize("image_format", ["png", "jpeg", "webp"])
def test_an_independent_reader_gets_the_parameters_back(http: httpx.Client, image_format: str) -> None:
    body = {"negativePrompt": "blurry, low quality", "sampler": "DPM++ 2M", "scheduleType": "Karras"}
    response = generate(http, format=image_format, steps=5, guidanceScale=6.5, seed=42, width=80, height=64, **body)
    info = ParserManager().parse(Image.open(io.BytesIO(response.content)))
    assert info is not None, "sd-parsers found no parameters"
    assert [str(p) for p in info.prompts] == ["a lighthouse at dusk"]
    assert [str(p) for p in info.negative_prompts] == ["blurry, low quality"]
    (sampler,) = info.samplers
    assert sampler.name == "DPM++ 2M"
    assert sampler.parameters == {"steps": "5", "cfg_scale": "6.5", "seed": "42", "scheduler": "Karras"}
    assert sampler.model is not None and sampler.model.name == "demo-shapes"
    assert info.metadata["Size"] == "80x64"


def test_the_done_event_carries_the_same_infotext(http: httpx.Client) -> None:
    done, _ = stream_done(http, seed=5)
    assert done["infotext"].startswith("a lighthouse at dusk\nSteps: 4, Sampler: Euler, ")
    assert "Seed: 5, Size: 64x64" in done["infotext"]


# 80 words: more than CLIP's 77 tokens, so "tail" words land in a second chunk.
LONG_PROMPT = ", ".join(["a quiet harbour at dawn"] * 16)


def test_words_past_token_77_change_the_image(http: httpx.Client) -> None:
    base = generate(http, positivePrompt=LONG_PROMPT).content
    assert generate(http, positivePrompt=LONG_PROMPT + ", a red balloon").content != base
    assert generate(http, positivePrompt=LONG_PROMPT).content == base


def test_a_weight_of_one_is_the_plain_prompt_and_other_weights_are_not(http: httpx.Client) -> None:
    plain = png_pixels(generate(http, positivePrompt="a red fox in the snow").content)
    same = png_pixels(generate(http, positivePrompt="a (red fox:1.0) in the snow").content)
    heavier = png_pixels(generate(http, positivePrompt="a (red fox:1.5) in the snow").content)
    assert np.array_equal(plain, same)
    assert not np.array_equal(plain, heavier)


def test_a_2000_character_weighted_prompt_and_negative_are_served(http: httpx.Client) -> None:
    prompt = ("(a red fox:1.3) in [deep] snow, ((sunlight)), BREAK " * 40)[:2000]
    response = generate(http, positivePrompt=prompt, negativePrompt=("blurry, " * 250)[:2000])
    assert png_pixels(response.content).shape == (64, 64, 3)
