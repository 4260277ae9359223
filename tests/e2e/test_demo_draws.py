"""The demo model draws what it is asked, through the real stack: prompts, image to image and inpainting.

Each check is the adherence scorer's (scripts/demo_eval.py): nearest CSS colour per pixel, the most common colour is
the background, the shape's colour among the top two, the shape told by its bounding box's fill ratio.
"""

import base64
import io
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from PIL import Image

from scripts.demo_eval import COLOR_NAMES, quantize, score
from scripts.demo_world import EXAMPLE, Scene, render
from tests.e2e.images import png_pixels

# Fixed seeds: the same seed gives the same pixels, so these checks hold run after run.
SEED = 3


def _draw(http: httpx.Client, prompt: str, **body: Any) -> npt.NDArray[np.uint8]:
    # Only the prompt and a seed unless a test says more: the rest is the demo model's own defaults.
    response = http.post("/generateimage", json={"positivePrompt": prompt, "seed": SEED, **body})
    assert response.status_code == 200, response.text
    assert response.headers["x-demo-model"] == "true"
    return png_pixels(response.content)


def _png_b64(pixels: npt.NDArray[np.uint8]) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _most_common(pixels: npt.NDArray[np.uint8]) -> str:
    labels = quantize(pixels)
    return COLOR_NAMES[int(np.bincount(labels.ravel(), minlength=len(COLOR_NAMES)).argmax())]


def test_the_prompt_a_newcomer_is_shown_draws_a_yellow_circle_on_blue(http: httpx.Client) -> None:
    image = _draw(http, EXAMPLE)
    assert image.shape == (256, 256, 3)  # the demo's own size, unasked
    result = score(image, "yellow", "circle", "blue")
    assert (result.background_ok, result.color_ok, result.shape_ok) == (True, True, True), result


def test_the_words_of_the_prompt_decide_the_colours_and_the_shape(http: httpx.Client) -> None:
    # The same seed (the same starting noise) with the words swapped: the picture follows the words.
    for color, shape, background in (("blue", "square", "yellow"), ("white", "triangle", "red")):
        image = _draw(http, f"a {color} {shape} on a {background} background")
        result = score(image, color, shape, background)
        assert (result.background_ok, result.color_ok, result.shape_ok) == (True, True, True), (color, result)


def test_a_prompt_outside_the_grammar_still_gives_an_image(http: httpx.Client) -> None:
    assert _draw(http, "a photo of a cat, (cinematic:1.2), 35mm").shape == (256, 256, 3)


def test_image_to_image_keeps_the_red_square_at_low_strength_and_redraws_it_at_full(http: httpx.Client) -> None:
    start = render(Scene("square", "red", "green", 0.5, 0.5, 0.5))
    # The prompt keeps the colours but asks for another shape: a low strength keeps what the image has.
    prompt = "a red circle on a green background"
    kept = score(_draw(http, prompt, initImage=_png_b64(start), denoisingStrength=0.25), "red", "square", "green")
    assert kept.background_ok and kept.color_ok, kept  # still a red shape on green
    # At full strength the same request draws what the prompt asks instead: a circle.
    redrawn = score(_draw(http, prompt, initImage=_png_b64(start), denoisingStrength=1.0), "red", "circle", "green")
    assert (redrawn.background_ok, redrawn.color_ok, redrawn.shape_ok) == (True, True, True), redrawn


def test_inpainting_repaints_the_masked_shape_the_asked_colour(http: httpx.Client) -> None:
    start = render(Scene("circle", "white", "black", 0.5, 0.5, 0.5))
    mask = np.zeros(start.shape[:2], dtype=np.uint8)
    inside = (slice(48, 208), slice(48, 208))  # around the circle: it is repainted, the rest must stay as it was
    mask[inside] = 255
    image = _draw(
        http,
        "a red circle on a black background",
        initImage=_png_b64(start),
        mask=_png_b64(np.repeat(mask[:, :, None], 3, axis=2)),
        denoisingStrength=1.0,
        maskBlur=0,
    )
    shares = np.bincount(quantize(image[inside]).ravel(), minlength=len(COLOR_NAMES)) / mask[inside].size
    colors = dict(zip(COLOR_NAMES, shares, strict=True))
    assert colors["red"] > 0.2 and colors["white"] < 0.02, colors  # the white circle became red
    outside = mask == 0
    assert np.array_equal(image[outside], start[outside])
