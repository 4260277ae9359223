"""The demo model: SDXL's pipeline classes, small, shipped in the repo with its own defaults and preview map."""

from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from scripts.demo_world import COLORS, grammar
from scripts.tiny_models import build_tiny_pipeline, tiny_model_dir
from worker.demo_model import DEMO_MODEL_DIR, DEMO_MODEL_NAME
from worker.model_loader import LoadedModel
from worker.model_sidecar import read_sidecar
from worker.previews import SDXL_PREVIEW

# The budget for the committed weights (models/demo-shapes).
MAX_FOLDER_BYTES = 25 * 1024 * 1024


def test_demo_model_uses_the_sdxl_pipeline_classes(demo_model: LoadedModel) -> None:
    pipe = demo_model.pipeline
    assert isinstance(pipe, StableDiffusionXLPipeline)
    assert isinstance(pipe.unet, UNet2DConditionModel)
    assert pipe.unet.config.addition_embed_type == "text_time"  # SDXL's size/crop conditioning
    assert isinstance(pipe.vae, AutoencoderKL)
    assert pipe.vae_scale_factor == 8
    assert pipe.vae.config.latent_channels == 4
    assert isinstance(pipe.text_encoder, CLIPTextModel)
    assert isinstance(pipe.text_encoder_2, CLIPTextModelWithProjection)
    assert isinstance(pipe.tokenizer, CLIPTokenizer)
    assert pipe.tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert demo_model.is_demo and demo_model.name == DEMO_MODEL_NAME


def test_demo_model_runs_at_its_own_defaults_and_says_what_it_draws(demo_model: LoadedModel) -> None:
    sidecar = read_sidecar(DEMO_MODEL_DIR)
    defaults = demo_model.defaults
    assert (defaults.width, defaults.height) == (256, 256)  # the floor for the demo's size
    assert defaults.steps == sidecar.steps and defaults.guidance_scale == sidecar.guidance_scale
    assert demo_model.description == grammar() and "a yellow circle on a blue background" in grammar()


def test_the_demo_folder_is_safetensors_within_its_budget() -> None:
    files = [path for path in DEMO_MODEL_DIR.rglob("*") if path.is_file()]
    weights = [path for path in files if path.suffix in (".safetensors", ".bin", ".pt", ".ckpt", ".pth")]
    assert weights and all(path.suffix == ".safetensors" for path in weights)  # no pickles in the repo
    assert sum(path.stat().st_size for path in files) <= MAX_FOLDER_BYTES
    assert (DEMO_MODEL_DIR / "README.md").is_file()  # the model card


def test_a_preview_of_the_demo_latents_shows_the_image_colours(demo_model: LoadedModel) -> None:
    # A blue square on a yellow background, through the demo's VAE: its own preview map must show both colours
    # where they are; SDXL's map (fit to another VAE) need not.
    image = np.full((64, 64, 3), COLORS["yellow"], dtype=np.uint8)
    image[16:48, 16:48] = COLORS["blue"]
    pipe = demo_model.pipeline
    with torch.inference_mode():
        pixels = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
        latents = pipe.vae.encode(pixels).latent_dist.mean * pipe.vae.config.scaling_factor
    preview = demo_model.preview(latents).astype(np.float32)
    assert demo_model.preview is not SDXL_PREVIEW
    centre, corner = preview[3:5, 3:5].mean(axis=(0, 1)), preview[0, 0]
    assert np.abs(centre - COLORS["blue"]).max() < 64
    assert np.abs(corner - COLORS["yellow"]).max() < 64


def test_the_tiny_model_is_built_identically_from_its_seed() -> None:
    first, second = build_tiny_pipeline(), build_tiny_pipeline()
    for a, b in zip(first.unet.state_dict().values(), second.unet.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_the_tiny_model_is_cached_and_reused(tmp_path: Path) -> None:
    folder = tiny_model_dir(tmp_path)
    assert (folder / "model_index.json").is_file()
    stamp = (folder / "model_index.json").stat().st_mtime_ns
    assert tiny_model_dir(tmp_path) == folder
    assert (folder / "model_index.json").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no staging folder left behind
