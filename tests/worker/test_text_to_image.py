"""The real SDXL pipeline code on the demo model: sizes, seeds, stopping at a step, prompt cache and batches."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from worker.errors import Cancelled
from worker.init_images import Prepared
from worker.model_loader import LoadedModel
from worker.params import GenerationParams
from worker.previews import StepLatents
from worker.text_to_image import Pixels, TextToImage


def keep_going(_step: int, _latents: torch.Tensor) -> None:
    """A step hook that never stops the generation."""


def params(
    width: int = 128, height: int = 128, steps: int = 4, seed: int = 1, prompt: str = "a lighthouse"
) -> GenerationParams:
    return GenerationParams(prompt, "blurry", width, height, steps, 7.0, seed)


@pytest.fixture
def t2i(demo_model: LoadedModel) -> TextToImage:
    return TextToImage(demo_model.pipeline, prompt_cache_size=8, preview=demo_model.preview)


def one(t2i: TextToImage, p: GenerationParams) -> Pixels:
    (pixels,) = t2i.generate([p], keep_going)
    return pixels


def test_generates_pixels_of_the_requested_size(t2i: TextToImage) -> None:
    pixels = one(t2i, params(width=192, height=64))
    assert pixels.shape == (64, 192, 3)
    assert pixels.dtype.name == "uint8"
    assert pixels.std() > 0  # noise, but not a blank image


def test_same_seed_gives_the_same_pixels_and_another_seed_other_pixels(t2i: TextToImage) -> None:
    first, again, other = one(t2i, params(seed=7)), one(t2i, params(seed=7)), one(t2i, params(seed=8))
    assert (first == again).all()
    assert (first != other).any()


def test_a_stop_request_ends_generation_at_the_next_step_without_decoding(
    t2i: TextToImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[int] = []
    decodes: list[int] = []
    vae = t2i.pipeline.vae
    real_decode = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: decodes.append(1) or real_decode(*a, **k))

    def stop_after_two_steps(step: int, latents: StepLatents) -> None:
        steps.append(step)
        assert latents.latents.shape == (1, 4, 16, 16)  # the 128x128 image's latents
        assert latents.preview is t2i.preview  # previewed with the model's own map
        if step == 2:
            raise Cancelled("the request was cancelled")

    with pytest.raises(Cancelled):
        t2i.generate([params(steps=20)], stop_after_two_steps)
    assert steps == [1, 2]  # called once per step, counting from 1; stopped at step 2 of 20
    assert decodes == []


def test_the_pipeline_is_usable_again_after_a_cancelled_run(t2i: TextToImage) -> None:
    def stop_at_once(_step: int, _latents: torch.Tensor) -> None:
        raise Cancelled("the request was cancelled")

    with pytest.raises(Cancelled):
        t2i.generate([params(seed=3)], stop_at_once)
    assert one(t2i, params(seed=3)).shape == (128, 128, 3)


@pytest.mark.parametrize("negative_prompt", ["", "blurry"])
def test_cached_prompt_embeddings_give_the_pixels_of_a_plain_pipeline_call(
    t2i: TextToImage, negative_prompt: str
) -> None:
    p = GenerationParams("a red fox", negative_prompt, 128, 96, 4, 6.5, 21)
    with torch.inference_mode():
        plain = t2i.pipeline(
            prompt=p.prompt,
            negative_prompt=p.negative_prompt or None,
            width=p.width,
            height=p.height,
            num_inference_steps=p.steps,
            guidance_scale=p.guidance_scale,
            generator=torch.Generator("cpu").manual_seed(p.seed),
            output_type="np",
        ).images[0]
    expected = (plain * 255).round().astype(np.uint8)  # diffusers' own numpy_to_pil rounding
    first = one(t2i, p)  # encodes the prompts and caches them
    cached = one(t2i, p)  # from the cache
    assert np.array_equal(first, expected)
    assert np.array_equal(cached, expected)


def test_prompt_cache_keeps_the_most_recent_pairs(demo_model: LoadedModel) -> None:
    t2i = TextToImage(demo_model.pipeline, prompt_cache_size=2)
    a, b = t2i.embeddings("a", ""), t2i.embeddings("b", "")
    assert t2i.embeddings("a", "") is a  # hit, and now the most recent
    t2i.embeddings("c", "")  # evicts b, the least recent
    assert t2i.embeddings("a", "") is a
    assert t2i.embeddings("b", "") is not b


def test_each_image_of_a_batch_is_the_image_its_request_gives_alone(t2i: TextToImage) -> None:
    batch = [params(seed=40 + i, prompt=f"prompt {i}") for i in range(3)]
    together = t2i.generate(batch, keep_going)
    for index, p in enumerate(batch):
        alone = one(t2i, p)
        difference = np.abs(together[index].astype(int) - alone.astype(int))
        # Batched convolutions round differently in the last float bits (PyTorch promises no batch
        # invariance), so a few values may differ by one level; nothing more, and no prompt or seed mixes.
        assert difference.max() <= 1
        assert (difference > 0).mean() < 0.001
        others = [together[j] for j in range(3) if j != index]
        assert all(np.abs(o.astype(int) - alone.astype(int)).mean() > 5 for o in others)


def test_image_to_image_and_inpainting_share_the_loaded_modules(demo_model: LoadedModel) -> None:
    text_to_image = TextToImage(demo_model.pipeline)
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    base = GenerationParams("a", "", 64, 64, 2, 7.0, 1, strength=0.5, image_key="x")
    img2img, _ = text_to_image._pipeline_for(replace(base, init=Prepared(pixels, None)))
    inpaint, _ = text_to_image._pipeline_for(replace(base, init=Prepared(pixels, pixels[..., 0])))
    for pipeline in (img2img, inpaint):
        assert pipeline is not demo_model.pipeline
        for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
            assert getattr(pipeline, name) is getattr(demo_model.pipeline, name), name  # no second copy
