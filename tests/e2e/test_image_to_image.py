"""Image to image and inpainting on the real stack (demo model): sizes, inputs, strength, the mask, refusals."""

import base64
import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.e2e.images import png_pixels

BASE: dict[str, Any] = {"positivePrompt": "a lighthouse at dusk", "steps": 4, "seed": 3}


def encoded(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def b64(data: bytes, prefix: str = "") -> str:
    return prefix + base64.b64encode(data).decode("ascii")


def init(width: int = 100, height: int = 68) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def generate(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/generateimage", json={**BASE, **body})


def ok(http: httpx.Client, **body: Any) -> httpx.Response:
    response = generate(http, **body)
    assert response.status_code == 200, response.text
    return response


def test_the_size_follows_the_init_image_rounded_down_to_8(http: httpx.Client) -> None:
    response = ok(http, initImage=b64(encoded(init(100, 68))))
    assert png_pixels(response.content).shape == (64, 96, 3)
    assert response.headers["x-denoising-strength"] == "0.75"


def test_png_jpeg_and_data_urls_all_work_and_the_same_inputs_give_the_same_pixels(http: httpx.Client) -> None:
    png, jpeg = encoded(init()), encoded(init(), "JPEG", quality=95)
    first = ok(http, initImage=b64(png)).content
    assert ok(http, initImage=b64(png, "data:image/png;base64,")).content == first
    assert ok(http, initImage=b64(png)).content == first
    assert png_pixels(ok(http, initImage=b64(jpeg)).content).shape == png_pixels(first).shape


def test_strength_changes_the_result_and_width_height_resize_it(http: httpx.Client) -> None:
    image = b64(encoded(init()))
    weak = png_pixels(ok(http, initImage=image, denoisingStrength=0.5).content)
    strong = png_pixels(ok(http, initImage=image, denoisingStrength=1.0).content)
    assert not np.array_equal(weak, strong)
    for mode in ("just resize", "crop and resize", "resize and fill"):
        resized = ok(http, initImage=image, width=128, height=64, resizeMode=mode)
        assert png_pixels(resized.content).shape == (64, 128, 3), mode


def test_inpainting_keeps_every_pixel_outside_the_blurred_mask(http: httpx.Client) -> None:
    source = init(96, 64)
    mask = np.zeros((64, 96), dtype=np.uint8)
    mask[16:40, 24:56] = 255
    blur = 4
    response = ok(
        http, initImage=b64(encoded(source)), mask=b64(encoded(Image.fromarray(mask))), maskBlur=blur, steps=6
    )
    out, original = png_pixels(response.content), np.asarray(source)
    # The blurred mask reaches about 3 sigma past its edge: outside that band nothing may move.
    outside = np.ones_like(mask, dtype=bool)
    outside[16 - 3 * blur : 40 + 3 * blur, 24 - 3 * blur : 56 + 3 * blur] = False
    assert np.array_equal(out[outside], original[outside])
    assert not np.array_equal(out[20:36, 28:52], original[20:36, 28:52])
    assert response.headers["x-mask-blur"] == str(blur)


def test_a_transparent_area_is_the_mask(http: httpx.Client) -> None:
    rgba = np.dstack([np.asarray(init(64, 64)), np.full((64, 64), 255, dtype=np.uint8)])
    rgba[8:24, 8:24, 3] = 0
    out = png_pixels(ok(http, initImage=b64(encoded(Image.fromarray(rgba, "RGBA"))), maskBlur=0).content)
    assert np.array_equal(out[32:, 32:], rgba[32:, 32:, :3])
    assert not np.array_equal(out[8:24, 8:24], rgba[8:24, 8:24, :3])


def test_progress_counts_the_steps_that_really_run(http: httpx.Client) -> None:
    body = {**BASE, "steps": 10, "denoisingStrength": 0.5, "initImage": b64(encoded(init()))}
    text = http.post("/generateimage/stream", json=body).text
    assert '"step":5,"steps":5' in text and '"step":6' not in text
    assert '"denoisingStrength":0.5' in text and "Denoising strength: 0.5" in text


animated = io.BytesIO()
init(64, 64).save(animated, format="GIF", save_all=True, append_images=[init(64, 64)])
webp_animated = io.BytesIO()
init(64, 64).save(webp_animated, format="WEBP", save_all=True, append_images=[init(64, 64).rotate(90)])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"initImage": "not base64!"}, "initImage must be base64 or a data: URL"),
        ({"initImage": b64(b"not an image at all")}, "initImage is not a PNG, JPEG or WebP image"),
        ({"initImage": b64(animated.getvalue())}, "initImage must be a PNG, JPEG or WebP image (got GIF)"),
        ({"initImage": b64(webp_animated.getvalue())}, "initImage must be a still image (got 2 frames)"),
        (
            {"initImage": b64(encoded(Image.fromarray(np.zeros((64, 64), dtype=np.uint16))))},
            "initImage must be 8 bits per channel",
        ),
        (
            {"initImage": b64(encoded(init(64, 64))), "mask": b64(encoded(init(32, 32)))},
            "mask must be initImage's size 64x64 (got 32x32)",
        ),
        ({"initImage": b64(encoded(init())), "denoisingStrength": 0}, "denoisingStrength must be more than 0"),
        ({"initImage": b64(encoded(init())), "denoisingStrength": 1.5}, "denoisingStrength must be more than 0"),
        ({"initImage": b64(encoded(init())), "maskBlur": 65}, "maskBlur must be at most 64 (got 65)"),
        ({"mask": b64(encoded(init()))}, "mask applies to image to image: send initImage too"),
        ({"initImage": b64(encoded(init(2100, 64)))}, "initImage must be at most 2048 pixels a side"),
        ({"initImage": b64(encoded(init(60, 60)))}, "width from initImage must be at least 64"),
    ],
)
def test_each_bad_input_is_a_422_naming_it(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    response = generate(http, **body)
    assert response.status_code == 422, response.text
    assert message in response.json()["message"]


def test_a_40_mb_body_is_refused_before_it_is_read(http: httpx.Client) -> None:
    response = http.post(
        "/generateimage", content=b"{" + b" " * (40 * 1024 * 1024) + b"}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["message"] == (
        f"the request body must be at most {32 * 1024 * 1024} bytes (got {40 * 1024 * 1024 + 2} bytes)"
    )


def test_a_large_body_without_an_image_keeps_the_small_limit(http: httpx.Client) -> None:
    padded = b'{"positivePrompt": "a lighthouse",' + b" " * 70000 + b'"steps": 2}'
    response = http.post("/generateimage", content=padded, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "without initImage or mask" in response.json()["message"]


def test_the_same_inputs_give_the_same_pixels_under_concurrency(http: httpx.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    mask = np.zeros((64, 96), dtype=np.uint8)
    mask[:, 48:] = 255
    body = {"initImage": b64(encoded(init(96, 64))), "mask": b64(encoded(Image.fromarray(mask))), "seed": 9}
    alone = ok(http, **body).content
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: ok(http, **body).content, range(3)))
    assert answers == [alone] * 3
