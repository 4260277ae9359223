"""The optional speed-ups change how the pipeline computes, not what it draws."""

from pathlib import Path

import numpy as np
import torch

from worker.model_loader import LoadedModel, load_model
from worker.params import GenerationParams
from worker.settings import WorkerSettings
from worker.text_to_image import TextToImage


def draw(model: LoadedModel) -> np.ndarray:
    p = GenerationParams("a lighthouse", "blurry", 128, 128, 4, 7.0, 5)
    (pixels,) = TextToImage(model.pipeline).generate([p], lambda _s, _l: None)
    return pixels


def test_channels_last_and_fused_qkv_draw_the_same_image(demo_model: LoadedModel) -> None:
    fast = load_model(WorkerSettings(WORKER_DEVICE="cpu", WORKER_CHANNELS_LAST="true", WORKER_FUSE_QKV="true"))
    assert fast.pipeline.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert any("to_qkv" in name for name, _ in fast.pipeline.unet.named_modules())
    # Same arithmetic in another order: equal up to float rounding, i.e. at most one level in a few pixels.
    difference = np.abs(draw(fast).astype(int) - draw(demo_model).astype(int))
    assert difference.max() <= 1 and (difference > 0).mean() < 0.01


def test_a_separate_fp16_safe_vae_replaces_the_models_and_decodes_without_upcast(
    demo_model: LoadedModel, tmp_path: Path
) -> None:
    demo_model.pipeline.vae.save_pretrained(tmp_path / "vae")
    model = load_model(WorkerSettings(WORKER_DEVICE="cpu", WORKER_VAE_PATH=str(tmp_path / "vae")))
    assert model.pipeline.vae.config.force_upcast is False
    assert np.array_equal(draw(model), draw(demo_model))  # the same weights: the same image
