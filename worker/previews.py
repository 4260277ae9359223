"""Cheap previews of an image as it forms: SDXL's 4 latent channels mapped linearly to RGB, no VAE."""

import numpy as np
import torch
import torch.nn.functional as F

from worker.text_to_image import Pixels

# A fixed least-squares fit from SDXL latents to RGB (the factors ComfyUI ships for SDXL's latent format);
# it needs no weights and costs one tiny matrix product per preview.
_LATENT_TO_RGB = torch.tensor(
    [
        [0.3651, 0.4232, 0.4341],
        [-0.2533, -0.0042, 0.1068],
        [0.1076, 0.1111, -0.0362],
        [-0.3165, -0.2492, -0.2188],
    ]
)
_RGB_BIAS = torch.tensor([0.1084, -0.0175, -0.0011])
# Longest side of a preview, in pixels: enough for a progress thumbnail, a few KB as JPEG.
MAX_PREVIEW_SIDE = 128


def latents_to_preview(latents: torch.Tensor) -> Pixels:
    """HxWx3 uint8 preview of the first image in a (B, 4, h, w) latent batch, at most MAX_PREVIEW_SIDE wide."""
    latent = latents[0].float()
    factor = max(1, -(-max(latent.shape[-2:]) // MAX_PREVIEW_SIDE))
    if factor > 1:
        latent = F.avg_pool2d(latent.unsqueeze(0), factor).squeeze(0)
    matrix = _LATENT_TO_RGB.to(latent.device)
    rgb = torch.einsum("chw,cr->hwr", latent, matrix) + _RGB_BIAS.to(latent.device)
    # The fit maps to roughly [-1, 1], as the VAE's output is.
    pixels = ((rgb + 1) * 127.5).clamp(0, 255).to(torch.uint8)
    result: Pixels = np.ascontiguousarray(pixels.cpu().numpy())
    return result
