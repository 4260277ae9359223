"""The OpenAI dialect's mapping onto the native request: quality, size, extras, names of refusals, mask, partials."""

import io

import numpy as np
import pytest
from genproto import generator_pb2, limits
from PIL import Image

from api.errors import ApiError
from api.openai.protocol import QUALITY_STEPS, ImageGenerationRequest
from api.openai.serving import native_request, parse_size, repaint_mask, should_retry, steps_of
from api.openai.stream import PartialImages
from api.problems import ErrorCode


def request(**values: object) -> ImageGenerationRequest:
    return ImageGenerationRequest.model_validate({"prompt": "a fox", **values})


def refusal_of(**values: object) -> ApiError:
    with pytest.raises(ApiError) as raised:
        native_request(request(**values))
    assert raised.value.status == 400 and raised.value.code == ErrorCode.INVALID_VALUE
    return raised.value


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_every_quality_maps_to_steps_within_the_limits_or_the_models_default() -> None:
    for quality, steps in QUALITY_STEPS.items():
        assert steps_of(request(quality=quality)) == steps
        assert steps is None or limits.MIN_STEPS <= steps <= limits.MAX_STEPS
    assert steps_of(request()) is None  # unset: the model's default
    assert steps_of(request(quality="low", steps=3)) == 3  # steps wins over quality
    assert steps_of(request(quality="low", num_inference_steps=4)) == 4
    assert steps_of(request(steps=5, num_inference_steps=4)) == 5


def test_size_is_width_by_height_or_auto() -> None:
    assert parse_size("1024x768") == (1024, 768)
    assert parse_size("auto") == (None, None)
    assert parse_size(None) == (None, None)
    for bad in ("1024", "x64", "64x", "64X64", "-64x64", "64x64x64", "\uff16\uff14x64"):
        with pytest.raises(ApiError) as raised:
            parse_size(bad)
        assert raised.value.field == "size"


def test_the_native_request_gets_each_mapped_value() -> None:
    native = native_request(
        request(
            prompt="a fox",
            n=2,
            size="128x64",
            quality="high",
            output_format="webp",
            negative_prompt="blur",
            seed=9,
            guidance_scale=5,
            sampler="Euler a",
            model="demo",
            loras=[{"name": "style/ink", "weight": 0.5}],
        ),
        loras=None,
    )
    assert (native.positive_prompt, native.negative_prompt, native.count) == ("a fox", "blur", 2)
    assert (native.width, native.height, native.steps) == (128, 64, QUALITY_STEPS["high"])
    assert (native.format, native.seed, native.guidance_scale, native.sampler) == ("webp", 9, 5.0, "Euler a")
    assert native.model == "demo" and native.loras is None  # loras travel only when passed on


@pytest.mark.parametrize(
    ("values", "param", "message"),
    [
        ({"size": "63x64"}, "size", "size's width must be a multiple of 8 (got 63)"),
        ({"size": f"64x{limits.MAX_SIDE + 8}"}, "size", f"size's height must be at most {limits.MAX_SIDE}"),
        ({"n": limits.MAX_COUNT + 1}, "n", f"n must be at most {limits.MAX_COUNT} (got {limits.MAX_COUNT + 1})"),
        ({"prompt": "   "}, "prompt", "prompt must not be blank"),
        ({"steps": limits.MAX_STEPS + 1}, "steps", f"steps must be at most {limits.MAX_STEPS}"),
        ({"num_inference_steps": 0}, "num_inference_steps", "num_inference_steps must be at least 1 (got 0)"),
        ({"guidance_scale": 99}, "guidance_scale", "guidance_scale must be at most"),
        ({"seed": -1}, "seed", "seed must be at least 0 (got -1)"),
    ],
)
def test_a_native_refusal_names_openais_param(values: dict[str, object], param: str, message: str) -> None:
    refusal = refusal_of(**values)
    assert refusal.field == param
    assert message in refusal.message


def test_transparent_background_is_refused_saying_why() -> None:
    with pytest.raises(ValueError, match="no alpha channel"):
        request(background="transparent")


def test_the_mask_alpha_becomes_the_native_white_repaints_mask() -> None:
    rgba = np.full((8, 8, 4), 255, dtype=np.uint8)
    rgba[:4, :, 3] = 0  # transparent: edit
    rgba[4:6, :, 3] = 128  # half transparent: partly
    native = np.asarray(Image.open(io.BytesIO(repaint_mask(png(Image.fromarray(rgba, "RGBA"))))))
    assert native.shape == (8, 8)
    assert (native[:4] == 255).all() and (native[4:6] == 127).all() and (native[6:] == 0).all()


def test_a_mask_without_alpha_is_refused_and_bytes_that_are_no_image_go_on_unchanged() -> None:
    with pytest.raises(ApiError) as raised:
        repaint_mask(png(Image.new("L", (8, 8), 255)))
    assert raised.value.field == "mask" and "alpha channel" in raised.value.message
    assert repaint_mask(b"not an image") == b"not an image"


def progress(step: int, total: int, image: int = 0, preview: bool = True) -> generator_pb2.Progress:
    return generator_pb2.Progress(
        step=step, total_steps=total, preview=b"jpeg" if preview else b"", image_index=image, image_count=2
    )


def test_partial_images_are_spread_over_the_steps_and_counted_across_the_request() -> None:
    partials = PartialImages(2)
    # Previews every 5 steps of 30: the ones at a third and two thirds are sent.
    taken = {step: partials.take(progress(step, 30)) for step in range(5, 30, 5)}
    assert taken == {5: None, 10: 0, 15: None, 20: 1, 25: None}
    assert partials.take(progress(1, 30, preview=False)) is None
    # The second image's partials continue the count.
    assert [partials.take(progress(step, 30, image=1)) for step in (10, 20, 25)] == [2, 3, None]
    assert PartialImages(0).take(progress(10, 30)) is None


def test_retries_only_where_nothing_ran() -> None:
    assert should_retry(429, ErrorCode.QUEUE_FULL) and should_retry(429, ErrorCode.RATE_LIMITED)
    assert should_retry(503, ErrorCode.WORKER_UNAVAILABLE)
    assert not should_retry(503, ErrorCode.OUT_OF_MEMORY)
    assert not should_retry(504, ErrorCode.DEADLINE_EXCEEDED)
    assert not should_retry(500, ErrorCode.INTERNAL_ERROR)
