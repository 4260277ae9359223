"""`make bench-gpu`: full-size SDXL base (random weights, same FLOPs) at 1024x1024, 30 steps, batch 1/2/4 on CUDA."""

import argparse
import sys
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from diffusers import (  # noqa: E402
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer  # noqa: E402

import worker.offline  # noqa: E402, F401  (before diffusers)
from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR as CONFIGS  # noqa: E402
from worker.settings import WorkerSettings  # noqa: E402
from worker.speedups import apply_speedups  # noqa: E402

# Arithmetic of one 1024x1024, 30-step SDXL base image with classifier-free guidance (UNet dominated).
FLOPS_PER_IMAGE = 416e12
# Dense bf16/fp16 tensor-core peaks, from the vendors' data sheets (no sparsity).
PEAK_FLOPS = {
    "H200": 989e12,
    "H100 SXM": 989e12,
    "H100 80GB HBM3": 989e12,
    "H100 PCIe": 756e12,
    "H100": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "L4": 121e12,
    "RTX 4090": 165e12,
    "A10G": 70e12,
}


def peak_for(name: str) -> float | None:
    return next((peak for key, peak in PEAK_FLOPS.items() if key in name), None)


def build_pipeline(dtype: torch.dtype) -> StableDiffusionXLPipeline:
    """SDXL base from the bundled configs, weights random and made directly on the GPU."""
    with torch.device("cuda"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(CONFIGS / "unet")).to(dtype)
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(CONFIGS / "vae")).to(dtype)
        text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(CONFIGS / "text_encoder")).to(dtype)
        text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig.from_pretrained(CONFIGS / "text_encoder_2")).to(
            dtype
        )
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=CLIPTokenizer.from_pretrained(CONFIGS / "tokenizer"),
        tokenizer_2=CLIPTokenizer.from_pretrained(CONFIGS / "tokenizer_2"),
        unet=unet,
        scheduler=EulerDiscreteScheduler.from_pretrained(CONFIGS / "scheduler"),
        add_watermarker=False,
    )


def run(pipeline: StableDiffusionXLPipeline, batch: int, steps: int, size: int) -> tuple[float, float, float]:
    """One generation of `batch` images: (seconds, UNet steps per second, VAE decode seconds)."""
    marks: list[float] = []

    def on_step(_pipe: object, _step: int, _t: object, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        torch.cuda.synchronize()
        marks.append(time.perf_counter())
        return tensors

    decode = pipeline.vae.decode
    decode_seconds: list[float] = []

    def timed_decode(*args: object, **kwargs: object) -> object:
        torch.cuda.synchronize()
        started = time.perf_counter()
        out = decode(*args, **kwargs)
        torch.cuda.synchronize()
        decode_seconds.append(time.perf_counter() - started)
        return out

    pipeline.vae.decode = timed_decode
    torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.inference_mode():
        images = pipeline(
            prompt=["a lighthouse at dusk"] * batch,
            width=size,
            height=size,
            num_inference_steps=steps,
            guidance_scale=7.0,
            output_type="pt",
            callback_on_step_end=on_step,
        ).images
        (images * 255).round().to(torch.uint8).cpu()
    torch.cuda.synchronize()
    total = time.perf_counter() - started
    pipeline.vae.decode = decode
    # Between the first and the last step's end: UNet steps alone, no text encoding or decode.
    steps_per_second = (len(marks) - 1) / (marks[-1] - marks[0])
    return total, steps_per_second, sum(decode_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench-gpu needs a CUDA device; torch sees none")
    card = torch.cuda.get_device_name()
    settings = WorkerSettings()  # WORKER_DTYPE, WORKER_COMPILE, ... from the environment, as the worker reads them
    dtype = torch.float16 if settings.dtype == "auto" else getattr(torch, settings.dtype)
    pipeline = build_pipeline(dtype)
    pipeline.set_progress_bar_config(disable=True)
    applied = apply_speedups(pipeline, settings, torch.device("cuda"), dtype)
    peak = peak_for(card)
    print(f"card: {card}; torch {torch.__version__}; dtype {dtype}; speed-ups: {', '.join(applied) or 'none'}")
    print(
        f"SDXL base (random weights) {args.size}x{args.size}, {args.steps} steps, guidance 7; median of {args.repeats}"
    )
    print("| batch | s/image | UNet steps/s | VAE decode s/image | peak GiB | floor fraction |")
    print("| --- | --- | --- | --- | --- | --- |")
    for batch in args.batches:
        run(pipeline, batch, args.steps, args.size)  # warm-up (and compile, when on)
        torch.cuda.reset_peak_memory_stats()
        results = sorted(run(pipeline, batch, args.steps, args.size) for _ in range(args.repeats))
        total, steps_per_second, decode = results[len(results) // 2]
        per_image = total / batch
        floor = f"{FLOPS_PER_IMAGE / peak / per_image:.0%}" if peak else "unknown peak"
        print(
            f"| {batch} | {per_image:.3f} | {steps_per_second:.1f} | {decode / batch:.3f} | "
            f"{torch.cuda.max_memory_allocated() / 2**30:.1f} | {floor} |"
        )


if __name__ == "__main__":
    main()
