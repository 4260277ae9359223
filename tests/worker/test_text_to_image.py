"""The real SDXL pipeline code on the demo model: sizes, seeds, and stopping at the next step."""

import pytest

from worker.errors import Cancelled
from worker.model_loader import LoadedModel
from worker.params import GenerationParams
from worker.text_to_image import generate_pixels


def params(width: int = 128, height: int = 128, steps: int = 4, seed: int = 1) -> GenerationParams:
    return GenerationParams("a lighthouse at dusk", "blurry", width, height, steps, 7.0, seed)


def test_generates_pixels_of_the_requested_size(demo_model: LoadedModel) -> None:
    pixels = generate_pixels(demo_model.pipeline, params(width=192, height=64), lambda: False)
    assert pixels.shape == (64, 192, 3)
    assert pixels.dtype.name == "uint8"
    assert pixels.std() > 0  # noise, but not a blank image


def test_same_seed_gives_the_same_pixels_and_another_seed_other_pixels(demo_model: LoadedModel) -> None:
    first = generate_pixels(demo_model.pipeline, params(seed=7), lambda: False)
    again = generate_pixels(demo_model.pipeline, params(seed=7), lambda: False)
    other = generate_pixels(demo_model.pipeline, params(seed=8), lambda: False)
    assert (first == again).all()
    assert (first != other).any()


def test_a_stop_request_ends_generation_at_the_next_step_without_decoding(
    demo_model: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[int] = []
    decodes: list[int] = []
    vae = demo_model.pipeline.vae
    real_decode = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: decodes.append(1) or real_decode(*a, **k))

    def stop_after_two_steps() -> bool:
        checks.append(1)
        return len(checks) >= 2

    with pytest.raises(Cancelled):
        generate_pixels(demo_model.pipeline, params(steps=20), stop_after_two_steps)
    assert len(checks) == 2  # the check runs once per step; it stopped at step 2 of 20
    assert decodes == []


def test_the_pipeline_is_usable_again_after_a_cancelled_run(demo_model: LoadedModel) -> None:
    with pytest.raises(Cancelled):
        generate_pixels(demo_model.pipeline, params(seed=3), lambda: True)
    fresh = generate_pixels(demo_model.pipeline, params(seed=3), lambda: False)
    assert fresh.shape == (128, 128, 3)
