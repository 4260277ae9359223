"""Runs generations on the pipeline, a batch at a time, with cached prompt embeddings; engine thread only."""

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline
from PIL import Image

from worker import init_images, samplers
from worker.params import GenerationParams
from worker.previews import SDXL_PREVIEW, LatentPreview, Pixels, StepLatents
from worker.prompt_encoding import PromptKey, count_chunks, encode_prompt_pair, prompt_cache_key

__all__ = ["Pixels", "StepHook", "TextToImage", "batch_key"]
# Called after each denoising step with (steps done, the whole batch's latents); raising Cancelled stops it.
StepHook = Callable[[int, StepLatents], None]


@dataclass(frozen=True)
class Embeddings:
    """SDXL's text conditioning for one prompt pair: both encoders' hidden states and the pooled vectors."""

    prompt: torch.Tensor
    negative: torch.Tensor
    pooled: torch.Tensor
    negative_pooled: torch.Tensor


def batch_key(params: GenerationParams) -> tuple[object, ...]:
    """Jobs with the same key can share one pipeline call (each with its own prompts and seed)."""
    # A sampler seeded through its config draws one noise for the whole batch, so it never shares a call.
    own_noise = params.seed if params.sampler in samplers.SEEDED_BY_CONFIG else None
    return (
        params.width,
        params.height,
        params.steps,
        params.guidance_scale,
        params.sampler,
        params.schedule_type,
        own_noise,
        # One init image (and mask) per call.
        params.image_key,
        params.strength,
        params.mask_blur,
        params.inpainting_fill,
    )


class TextToImage:
    """The pipeline and its prompt-embedding cache."""

    def __init__(
        self, pipeline: StableDiffusionXLPipeline, prompt_cache_size: int = 64, preview: LatentPreview = SDXL_PREVIEW
    ) -> None:
        self.pipeline = pipeline
        # The model's latent-to-RGB map for the live previews.
        self.preview = preview
        # The model's own scheduler, as loaded: every job's scheduler is built from its config.
        self.own_scheduler = pipeline.scheduler
        # Built on the first image-to-image or inpainting job, over the same modules.
        self._img2img: StableDiffusionXLImg2ImgPipeline | None = None
        self._inpaint: StableDiffusionXLInpaintPipeline | None = None
        self.prompt_cache_size = prompt_cache_size
        self._cache: OrderedDict[tuple[PromptKey, tuple[object, ...]], Embeddings] = OrderedDict()

    def embeddings(self, prompt: str, negative_prompt: str, text_key: tuple[object, ...] = ()) -> Embeddings:
        """Both text encoders' outputs for a prompt pair (any length, A1111 weights), cached by the parsed pair.

        `text_key` names what else changes the encoders' outputs (active text-encoder LoRAs); `prompt` comes
        without its `<lora:…>` tags (GenerationParams.text_for_encoders).
        """
        # Keyed by the parsed prompts, so `(cat:1.0)` and `cat` share an entry.
        key = (prompt_cache_key(prompt, negative_prompt), text_key)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        embeddings = Embeddings(*encode_prompt_pair(self.pipeline, prompt, negative_prompt))
        if self.prompt_cache_size > 0:
            self._cache[key] = embeddings
            if len(self._cache) > self.prompt_cache_size:
                self._cache.popitem(last=False)
        return embeddings

    def _pipeline_for(self, params: GenerationParams) -> tuple[Any, Callable[[int], dict[str, Any]]]:
        """The pipeline a job runs on (text to image, image to image, inpainting) and its image inputs for n images.

        The img2img and inpaint pipelines are built once `from_pipe` of the loaded one: the same modules, so no
        second copy of the weights (docs/architecture.md, "Where a new thing goes": a new pipeline).
        """
        start = params.init
        if start is None:
            return self.pipeline, lambda n: {}
        image = Image.fromarray(start.image)
        if start.mask is None:
            if self._img2img is None:
                self._img2img = StableDiffusionXLImg2ImgPipeline.from_pipe(self.pipeline)
            return self._img2img, lambda n: {"image": [image] * n, "strength": params.strength}
        if params.inpainting_fill == "latent noise":
            image = Image.fromarray(init_images.latent_noise(start.image, start.mask, params.seed))
        mask = Image.fromarray(start.mask)
        if self._inpaint is None:
            self._inpaint = StableDiffusionXLInpaintPipeline.from_pipe(self.pipeline)
        return self._inpaint, lambda n: {"image": [image] * n, "mask_image": [mask] * n, "strength": params.strength}

    def batch_key(self, params: GenerationParams) -> tuple[object, ...]:
        """batch_key, and the prompt's length in chunks: a batch's embeddings are joined, so they must match."""
        return (*batch_key(params), count_chunks(self.pipeline, params.text_for_encoders, params.negative_prompt))

    def generate(
        self, batch: Sequence[GenerationParams], on_step: StepHook, text_key: tuple[object, ...] = ()
    ) -> list[Pixels]:
        """Denoise and decode a batch (same batch_key) as HxWx3 uint8 each; on_step may raise Cancelled."""
        first = batch[0]
        assert all(batch_key(p) == batch_key(first) for p in batch), "a batch shares size, steps, guidance, sampler"

        def on_step_end(_pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            # A Cancelled raised here leaves the denoising loop at once and skips the VAE decode, which is
            # what a cancelled job should cost; the pipeline's own `interrupt` flag would still decode.
            on_step(step + 1, StepLatents(tensors["latents"], self.preview))
            return tensors

        # A fresh scheduler per call: no step state (a multistep solver's history, a noise sampler) carries over.
        scheduler = samplers.build(self.own_scheduler, first.sampler, first.schedule_type, first.seed)
        pipeline, inputs = self._pipeline_for(first)
        pipeline.scheduler = scheduler
        with torch.inference_mode():
            conditioning = [self.embeddings(p.text_for_encoders, p.negative_prompt, text_key) for p in batch]
            images = pipeline(
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
                **inputs(len(batch)),
            ).images
            # To uint8 on the device, so only a quarter of the bytes cross to the host; the same rounding
            # as diffusers' own numpy_to_pil.
            pixels = (images.float() * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        if first.init is not None and first.init.mask is not None:
            # A1111 pastes the original back over the result: outside the mask nothing moved, bit for bit.
            pixels = np.stack([init_images.paste_back(first.init.image, image, first.init.mask) for image in pixels])
        return [np.ascontiguousarray(image) for image in pixels]
