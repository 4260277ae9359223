"""Models for tests and benchmarks: fresh copies of the demo model, and tiny SDXLs of no meaning.

The demo model (models/demo-shapes) draws and is what a stack serves by default, so LoRAs made for it are made on
demo_pipeline(); the tiny random ones are for tests that need another model fast and care only that every code
path runs (checkpoint kinds, a second model in a library).
"""

import logging
import shutil
import tempfile
from pathlib import Path

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

import worker.offline  # noqa: F401  (before diffusers is imported)
from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR
from worker.demo_model import DEMO_MODEL_DIR

log = logging.getLogger(__name__)

# Bump when the architecture below changes, so an old cache is rebuilt rather than loaded.
TINY_VERSION = "1"
TINY_CACHE_DIR = Path(__file__).resolve().parent.parent / "models" / ".cache" / "tiny-sdxl"
_SEED = 20240611
TEXT_WIDTH = 32  # hidden size of each tiny text encoder; SDXL concatenates both (768 + 1280 in the real one)
_TIME_EMBED = 8  # SDXL's addition_time_embed_dim is 256


def demo_pipeline() -> StableDiffusionXLPipeline:
    """A fresh copy of the demo model, float32 on CPU, as the worker loads it with no weights configured."""
    pipeline = StableDiffusionXLPipeline.from_pretrained(DEMO_MODEL_DIR, local_files_only=True, dtype=torch.float32)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def text_encoder_config() -> CLIPTextConfig:
    """A tiny CLIP text transformer over the real 49408-token CLIP vocabulary (the tiny and the demo model's)."""
    return CLIPTextConfig(
        vocab_size=49408,
        hidden_size=TEXT_WIDTH,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=TEXT_WIDTH,
        hidden_act="gelu",
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )


def build_tiny_pipeline() -> StableDiffusionXLPipeline:
    """Build the tiny pipeline from a fixed seed: same seed, same torch, same weights."""
    torch.manual_seed(_SEED)
    unet = UNet2DConditionModel(
        sample_size=64,  # 64 latents x 8 = 512 px default, where SDXL base has 128 (1024 px)
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        transformer_layers_per_block=(1, 1),
        use_linear_projection=True,
        cross_attention_dim=2 * TEXT_WIDTH,
        # SDXL's micro-conditioning: pooled text embedding + 6 size/crop values, as in the real UNet.
        addition_embed_type="text_time",
        addition_time_embed_dim=_TIME_EMBED,
        projection_class_embeddings_input_dim=TEXT_WIDTH + 6 * _TIME_EMBED,
        norm_num_groups=8,
    )
    # Four blocks: the latent is 1/8 of the image per side, as in SDXL's VAE.
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8, 16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=512,
        scaling_factor=0.13025,
        force_upcast=True,
    )
    scheduler = EulerDiscreteScheduler.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="scheduler")
    tokenizer = CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="tokenizer")
    tokenizer_2 = CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="tokenizer_2")
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(text_encoder_config()),
        text_encoder_2=CLIPTextModelWithProjection(text_encoder_config()),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=scheduler,
        add_watermarker=False,
    )


def tiny_model_dir(cache_dir: Path = TINY_CACHE_DIR) -> Path:
    """Build the tiny model into `cache_dir` unless a copy of this version is there; return its folder."""
    target = cache_dir / f"v{TINY_VERSION}"
    if (target / "model_index.json").is_file():
        return target
    log.info("building the tiny model into %s", target)
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache_dir))
    build_tiny_pipeline().save_pretrained(staging)
    # A rename is atomic: a second process building at the same time never loads a half-written folder.
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "model_index.json").is_file():
            raise
    return target


def tiny_variant(folder: Path, seed: int) -> Path:
    """The tiny model's architecture and configs with other UNet weights, saved as a diffusers folder."""
    tiny = StableDiffusionXLPipeline.from_pretrained(tiny_model_dir())
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in tiny.unet.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    tiny.save_pretrained(folder)
    return folder
