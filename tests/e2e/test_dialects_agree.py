"""The three dialects are one request: the same values through the native route, OpenAI's SDK and webuiapi, with
the same seed, give the same pixels (docs/architecture.md, "Where a new thing goes": no second queue or table)."""

import base64

import httpx
import numpy as np
import openai
import pytest
import webuiapi

from scripts.devstack import Service
from tests.e2e.images import png_pixels

pytestmark = pytest.mark.e2e

PROMPT, NEGATIVE = "a lighthouse at dusk", "fog"
WIDTH, HEIGHT, STEPS, GUIDANCE, SEED, SAMPLER = 64, 72, 3, 6.5, 424242, "DPM++ 2M"


def native(http: httpx.Client, seed: int = SEED) -> bytes:
    body = {
        "positivePrompt": PROMPT,
        "negativePrompt": NEGATIVE,
        "width": WIDTH,
        "height": HEIGHT,
        "steps": STEPS,
        "guidanceScale": GUIDANCE,
        "seed": seed,
        "sampler": SAMPLER,
    }
    response = http.post("/generateimage", json=body)
    assert response.status_code == 200, response.text
    return response.content


def through_openai(api: Service) -> bytes:
    with openai.OpenAI(base_url=f"http://127.0.0.1:{api.port}/v1", api_key="unused", max_retries=0) as client:
        extra = {
            "negative_prompt": NEGATIVE,
            "steps": STEPS,
            "guidance_scale": GUIDANCE,
            "seed": SEED,
            "sampler": SAMPLER,
        }
        result = client.images.generate(prompt=PROMPT, size=f"{WIDTH}x{HEIGHT}", extra_body=extra)
    assert result.data and result.data[0].b64_json
    return base64.b64decode(result.data[0].b64_json)


def through_a1111(api: Service) -> np.ndarray:
    client = webuiapi.WebUIApi(host="127.0.0.1", port=api.port)
    result = client.txt2img(
        prompt=PROMPT,
        negative_prompt=NEGATIVE,
        width=WIDTH,
        height=HEIGHT,
        steps=STEPS,
        cfg_scale=GUIDANCE,
        seed=SEED,
        sampler_name=SAMPLER,
        use_async=False,
    )
    assert result.info["seed"] == SEED
    # webuiapi hands back PIL images decoded from the answer's base64 PNGs.
    return np.asarray(result.images[0].convert("RGB"))


def test_the_same_request_through_each_dialect_gives_the_same_pixels(api: Service, http: httpx.Client) -> None:
    pixels = {
        "native": png_pixels(native(http)),
        "openai": png_pixels(through_openai(api)),
        "a1111": through_a1111(api),
    }
    assert pixels["native"].shape == (HEIGHT, WIDTH, 3)
    for dialect in ("openai", "a1111"):
        assert np.array_equal(pixels[dialect], pixels["native"]), dialect
    # And the seed matters: the same request with the next seed is another picture.
    assert not np.array_equal(png_pixels(native(http, SEED + 1)), pixels["native"])
