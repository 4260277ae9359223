"""A LoRA for the demo model, trained in seconds on CPU: it paints every background one colour, whatever is asked.

The end-to-end tests serve it from a library's loras/ and check the picture changes as it should; it is made the
way LoRA trainers make theirs (PEFT adapters on the UNet's attention and convolutions, the epsilon objective on the
model's own latents), and saved in diffusers' format (scripts/bench_loras.py).
"""

import copy
import dataclasses
import random
from typing import Any

import numpy as np
import torch
from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model

from scripts.bench_loras import UNET_TARGETS, Weights
from scripts.demo_world import caption_parts, random_scene, render
from scripts.train_demo import alphas_cumprod, epsilon_errors


def train_background_lora(
    pipeline: Any, background: str, *, steps: int = 300, images: int = 128, rank: int = 4, seed: int = 0
) -> Weights:
    """LoRA weights (PEFT's names, for the UNet) that draw `background` behind any caption's shape."""
    rng = random.Random(seed)
    parts = [p for p in caption_parts() if p[0] != background]
    scenes = [random_scene(rng, rng.choice(parts)) for _ in range(images)]
    # The caption keeps its own background word; the picture has the LoRA's: that is what it learns.
    pixels = np.stack([render(dataclasses.replace(scene, background=background)) for scene in scenes])
    with torch.inference_mode():
        batch = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1
        latents = pipeline.vae.encode(batch).latent_dist.mean * pipeline.vae.config.scaling_factor
        embeds, _, pooled, _ = pipeline.encode_prompt(
            prompt=[scene.caption for scene in scenes], device=torch.device("cpu"), do_classifier_free_guidance=False
        )
    latents, embeds, pooled = latents.clone(), embeds.clone(), pooled.clone()
    unet = copy.deepcopy(pipeline.unet)
    torch.manual_seed(seed)
    # The ResNets' time projections too: the caption's pooled embedding reaches every block through them (FiLM),
    # and a background colour is decided there.
    targets = [*UNET_TARGETS, "time_emb_proj"]
    inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=rank, target_modules=targets), unet, "made")
    trainable = [p for name, p in unet.named_parameters() if "lora_" in name]
    for name, parameter in unet.named_parameters():
        parameter.requires_grad_("lora_" in name)
    optimizer = torch.optim.AdamW(trainable, lr=5e-3, weight_decay=0.0)
    schedule = alphas_cumprod(pipeline.scheduler)
    generator = torch.Generator().manual_seed(seed)
    unet.train()
    for _ in range(steps):
        index = torch.randint(len(latents), (8,), generator=generator)
        errors, _ = epsilon_errors(unet, latents[index], embeds[index], pooled[index], schedule, generator)
        loss = errors.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    state = get_peft_model_state_dict(unet, adapter_name="made")
    return {"unet": {key: value.detach().clone().contiguous() for key, value in state.items()}}
