"""Tiny models for tests and benchmarks: the demo model's architecture with other weights, as a diffusers folder."""

from pathlib import Path

import torch
from diffusers import StableDiffusionXLPipeline

import worker.offline  # noqa: F401  (before diffusers is imported)
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
