"""A tiny model library for the end-to-end tests: the demo model's architecture with other weights, and files."""

from pathlib import Path

import torch
from diffusers import StableDiffusionXLPipeline
from safetensors.torch import save_file

import worker.offline  # noqa: F401  (before diffusers is used)
from tests.worker.ldm_export import pipeline_to_sgm
from tests.worker.test_single_file_load import tiny_sdxl_pipeline
from worker.demo_model import demo_model_dir
from worker.settings import WorkerSettings


def demo_variant(folder: Path, seed: int) -> Path:
    """The demo model's architecture and configs with other UNet weights, saved as a diffusers folder."""
    demo = StableDiffusionXLPipeline.from_pretrained(demo_model_dir(WorkerSettings().demo_cache_dir))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in demo.unet.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    demo.save_pretrained(folder)
    return folder


def tiny_sdxl_file(path: Path) -> Path:
    """A tiny SDXL-layout single file: it passes the SDXL key checks but not the bundled SDXL architecture."""
    save_file(pipeline_to_sgm(tiny_sdxl_pipeline()), str(path))
    return path


def corrupt_copy(source: Path, path: Path) -> Path:
    """The file's header intact and its tensor data cut short: listed, but it cannot be loaded."""
    data = source.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    path.write_bytes(data[: header_end + 64])
    return path
