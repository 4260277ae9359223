"""The real SDXL pipeline code on the demo model: sizes, seeds, and stopping at the next step."""

import pytest
import torch

from worker.errors import Cancelled
from worker.model_loader import LoadedModel
from worker.params import GenerationParams
from worker.text_to_image import generate_pixels


def keep_going(_step: int, _latents: torch.Tensor) -> None:
    """A step hook that never stops the generation."""


def params(width: int = 128, height: int = 128, steps: int = 4, seed: int = 1) -> GenerationParams:
    return GenerationParams("a lighthouse at dusk", "blurry", width, height, steps, 7.0, seed)


def test_generates_pixels_of_the_requested_size(demo_model: LoadedModel) -> None:
    pixels = generate_pixels(demo_model.pipeline, params(width=192, height=64), keep_going)
    assert pixels.shape == (64, 192, 3)
    assert pixels.dtype.name == "uint8"
    assert pixels.std() > 0  # noise, but not a blank image


def test_same_seed_gives_the_same_pixels_and_another_seed_other_pixels(demo_model: LoadedModel) -> None:
    first = generate_pixels(demo_model.pipeline, params(seed=7), keep_going)
    again = generate_pixels(demo_model.pipeline, params(seed=7), keep_going)
    other = generate_pixels(demo_model.pipeline, params(seed=8), keep_going)
    assert (first == again).all()
    assert (first != other).any()


def test_a_stop_request_ends_generation_at_the_next_step_without_decoding(
    demo_model: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[int] = []
    decodes: list[int] = []
    vae = demo_model.pipeline.vae
    real_decode = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: decodes.append(1) or real_decode(*a, **k))

    def stop_after_two_steps(step: int, latents: torch.Tensor) -> None:
        steps.append(step)
        assert latents.shape == (1, 4, 16, 16)  # the 128x128 image's latents
        if step == 2:
            raise Cancelled("the request was cancelled")

    with pytest.raises(Cancelled):
        generate_pixels(demo_model.pipeline, params(steps=20), stop_after_two_steps)
    assert steps == [1, 2]  # called once per step, counting from 1; stopped at step 2 of 20
    assert decodes == []


def test_the_pipeline_is_usable_again_after_a_cancelled_run(demo_model: LoadedModel) -> None:
    def stop_at_once(_step: int, _latents: torch.Tensor) -> None:
        raise Cancelled("the request was cancelled")

    with pytest.raises(Cancelled):
        generate_pixels(demo_model.pipeline, params(seed=3), stop_at_once)
    fresh = generate_pixels(demo_model.pipeline, params(seed=3), keep_going)
    assert fresh.shape == (128, 128, 3)
