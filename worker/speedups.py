"""Optional speed-ups for a loaded pipeline: an fp16-safe VAE, channels_last, fused QKV, torch.compile."""

import logging
import os
from pathlib import Path

import torch
from diffusers import AutoencoderKL, StableDiffusionXLPipeline

from worker.settings import WorkerSettings

log = logging.getLogger(__name__)


def _wanted(setting: str, device: torch.device) -> bool:
    """`auto` means on for CUDA (where it pays) and off on CPU (where it is untested or slower)."""
    return device.type == "cuda" if setting == "auto" else setting == "true"


def apply_speedups(
    pipeline: StableDiffusionXLPipeline, settings: WorkerSettings, device: torch.device, dtype: torch.dtype
) -> list[str]:
    """Apply what the settings ask for; returns their names for the log."""
    applied = []
    if settings.vae_path:
        # An fp16-safe VAE (e.g. sdxl-vae-fp16-fix) decodes in half precision: no fp32 upcast per image.
        vae = AutoencoderKL.from_pretrained(Path(settings.vae_path), local_files_only=True, dtype=dtype)
        vae.register_to_config(force_upcast=False)
        pipeline.vae = vae.to(device)
        applied.append("fp16-safe VAE")
    elif dtype == torch.float16:
        # SDXL's own VAE overflows in fp16 (NaNs, black images); force_upcast makes the pipeline decode in fp32.
        pipeline.vae.register_to_config(force_upcast=True)
    if _wanted(settings.channels_last, device):
        # Tensor cores read NHWC convolutions without a transpose per layer.
        pipeline.unet.to(memory_format=torch.channels_last)
        pipeline.vae.to(memory_format=torch.channels_last)
        applied.append("channels_last")
    if _wanted(settings.fuse_qkv, device):
        # One matmul for Q, K and V in self-attention instead of three.
        pipeline.fuse_qkv_projections()
        applied.append("fused QKV")
    if settings.compile:
        # Compiled graphs are cached on disk, so a restart recompiles in seconds, not minutes.
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(settings.compile_cache_dir))
        pipeline.unet = torch.compile(pipeline.unet, mode=settings.compile_mode, fullgraph=True)
        pipeline.vae.decode = torch.compile(pipeline.vae.decode, mode=settings.compile_mode)
        applied.append(f"torch.compile ({settings.compile_mode})")
    return applied
