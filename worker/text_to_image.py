"""Runs one generation on the pipeline; called only from the engine thread."""

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from diffusers import StableDiffusionXLPipeline

from worker.params import GenerationParams

Pixels = npt.NDArray[np.uint8]
# Called after each denoising step with (steps done, latents); raising Cancelled stops the generation.
StepHook = Callable[[int, torch.Tensor], None]


def generate_pixels(pipeline: StableDiffusionXLPipeline, params: GenerationParams, on_step: StepHook) -> Pixels:
    """Denoise and decode one image as HxWx3 uint8; on_step may raise Cancelled to stop at a step's end."""

    def on_step_end(_pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        # A Cancelled raised here leaves the denoising loop at once and skips the VAE decode, which is
        # what a cancelled job should cost; the pipeline's own `interrupt` flag would still decode.
        on_step(step + 1, tensors["latents"])
        return tensors

    # A CPU generator per request: its noise depends on the seed alone, not on what ran before.
    generator = torch.Generator(device="cpu").manual_seed(params.seed)
    with torch.inference_mode():
        images = pipeline(
            prompt=params.prompt,
            negative_prompt=params.negative_prompt or None,
            width=params.width,
            height=params.height,
            num_inference_steps=params.steps,
            guidance_scale=params.guidance_scale,
            generator=generator,
            output_type="pt",
            callback_on_step_end=on_step_end,
        ).images
        # To uint8 on the device, so only a quarter of the bytes cross to the host; the same rounding
        # as diffusers' own numpy_to_pil.
        pixels = (images[0].float() * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
    result: Pixels = pixels.cpu().numpy()
    return result
