"""Runs generations on the pipeline, a batch at a time, with cached prompt embeddings; engine thread only."""

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from diffusers import StableDiffusionXLPipeline

from worker.params import GenerationParams

Pixels = npt.NDArray[np.uint8]
# Called after each denoising step with (steps done, latents of the whole batch); raising Cancelled stops it.
StepHook = Callable[[int, torch.Tensor], None]


@dataclass(frozen=True)
class Embeddings:
    """SDXL's text conditioning for one prompt pair: both encoders' hidden states and the pooled vectors."""

    prompt: torch.Tensor
    negative: torch.Tensor
    pooled: torch.Tensor
    negative_pooled: torch.Tensor


def batch_key(params: GenerationParams) -> tuple[int, int, int, float]:
    """Jobs with the same key can share one pipeline call (each with its own prompts and seed)."""
    return (params.width, params.height, params.steps, params.guidance_scale)


class TextToImage:
    """The pipeline and its prompt-embedding cache."""

    def __init__(self, pipeline: StableDiffusionXLPipeline, prompt_cache_size: int = 64) -> None:
        self.pipeline = pipeline
        self.prompt_cache_size = prompt_cache_size
        self._cache: OrderedDict[tuple[str, str], Embeddings] = OrderedDict()

    def embeddings(self, prompt: str, negative_prompt: str) -> Embeddings:
        """Both text encoders' outputs for a prompt pair, from the cache when the pair was seen recently."""
        key = (prompt, negative_prompt)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        # The pipeline's own encoding, as a plain call does it: an empty negative prompt is None, which SDXL
        # (force_zeros_for_empty_prompt) turns into zero embeddings instead of encoding "".
        prompt_embeds, negative, pooled, negative_pooled = self.pipeline.encode_prompt(
            prompt=prompt,
            device=self.pipeline._execution_device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=True,
            negative_prompt=negative_prompt or None,
        )
        embeddings = Embeddings(prompt_embeds, negative, pooled, negative_pooled)
        if self.prompt_cache_size > 0:
            self._cache[key] = embeddings
            if len(self._cache) > self.prompt_cache_size:
                self._cache.popitem(last=False)
        return embeddings

    def generate(self, batch: Sequence[GenerationParams], on_step: StepHook) -> list[Pixels]:
        """Denoise and decode a batch (same batch_key) as HxWx3 uint8 each; on_step may raise Cancelled."""
        first = batch[0]
        assert all(batch_key(p) == batch_key(first) for p in batch), "a batch shares size, steps and guidance"

        def on_step_end(_pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            # A Cancelled raised here leaves the denoising loop at once and skips the VAE decode, which is
            # what a cancelled job should cost; the pipeline's own `interrupt` flag would still decode.
            on_step(step + 1, tensors["latents"])
            return tensors

        with torch.inference_mode():
            conditioning = [self.embeddings(p.prompt, p.negative_prompt) for p in batch]
            images = self.pipeline(
                prompt_embeds=torch.cat([c.prompt for c in conditioning]),
                negative_prompt_embeds=torch.cat([c.negative for c in conditioning]),
                pooled_prompt_embeds=torch.cat([c.pooled for c in conditioning]),
                negative_pooled_prompt_embeds=torch.cat([c.negative_pooled for c in conditioning]),
                width=first.width,
                height=first.height,
                num_inference_steps=first.steps,
                guidance_scale=first.guidance_scale,
                # One CPU generator per image: its noise depends on its own seed alone, batched or not.
                generator=[torch.Generator(device="cpu").manual_seed(p.seed) for p in batch],
                output_type="pt",
                callback_on_step_end=on_step_end,
            ).images
            # To uint8 on the device, so only a quarter of the bytes cross to the host; the same rounding
            # as diffusers' own numpy_to_pil.
            pixels = (images.float() * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return [np.ascontiguousarray(image) for image in pixels]
