"""The demo model is SDXL's architecture in miniature, built the same way every time, and cached on disk."""

from pathlib import Path

import torch
from diffusers import AutoencoderKL, StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from worker.demo_model import build_demo_pipeline, demo_model_dir
from worker.model_loader import LoadedModel


def test_demo_model_uses_the_sdxl_pipeline_classes(demo_model: LoadedModel) -> None:
    pipe = demo_model.pipeline
    assert isinstance(pipe, StableDiffusionXLPipeline)
    assert isinstance(pipe.unet, UNet2DConditionModel)
    assert pipe.unet.config.addition_embed_type == "text_time"  # SDXL's size/crop conditioning
    assert isinstance(pipe.vae, AutoencoderKL)
    assert pipe.vae_scale_factor == 8
    assert isinstance(pipe.text_encoder, CLIPTextModel)
    assert isinstance(pipe.text_encoder_2, CLIPTextModelWithProjection)
    assert isinstance(pipe.tokenizer, CLIPTokenizer)
    assert pipe.tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert demo_model.is_demo
    assert (demo_model.defaults.width, demo_model.defaults.height, demo_model.defaults.steps) == (512, 512, 20)


def test_demo_model_is_built_identically_from_its_seed() -> None:
    first, second = build_demo_pipeline(), build_demo_pipeline()
    for a, b in zip(first.unet.state_dict().values(), second.unet.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_demo_model_is_cached_and_reused(tmp_path: Path) -> None:
    folder = demo_model_dir(tmp_path)
    assert (folder / "model_index.json").is_file()
    stamp = (folder / "model_index.json").stat().st_mtime_ns
    assert demo_model_dir(tmp_path) == folder
    assert (folder / "model_index.json").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no staging folder left behind
