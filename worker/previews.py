"""Cheap previews of an image as it forms: the 4 latent channels mapped linearly to RGB, no VAE."""

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

# An HxWx3 uint8 image, as every stage of the worker passes pixels.
Pixels = npt.NDArray[np.uint8]

# Longest side of a preview, in pixels: enough for a progress thumbnail, a few KB as JPEG.
MAX_PREVIEW_SIDE = 128


@dataclass(frozen=True)
class LatentPreview:
    """A least-squares map from a model's (scaled) latents to RGB in [-1, 1]: one tiny matrix product a preview."""

    # (4, 3): one RGB contribution per latent channel; (3,): the offset.
    matrix: torch.Tensor
    bias: torch.Tensor

    def __call__(self, latents: torch.Tensor) -> Pixels:
        """HxWx3 uint8 preview of the first image in a (B, 4, h, w) latent batch, at most MAX_PREVIEW_SIDE wide."""
        latent = latents[0].float()
        factor = max(1, -(-max(latent.shape[-2:]) // MAX_PREVIEW_SIDE))
        if factor > 1:
            latent = F.avg_pool2d(latent.unsqueeze(0), factor).squeeze(0)
        matrix = self.matrix.to(latent.device)
        rgb = torch.einsum("chw,cr->hwr", latent, matrix) + self.bias.to(latent.device)
        # The fit maps to roughly [-1, 1], as the VAE's output is.
        pixels = ((rgb + 1) * 127.5).clamp(0, 255).to(torch.uint8)
        result: Pixels = np.ascontiguousarray(pixels.cpu().numpy())
        return result


# SDXL's VAE: the factors ComfyUI ships for SDXL's latent format; a model folder may bring its own fit
# (worker/model_sidecar.py).
SDXL_PREVIEW = LatentPreview(
    torch.tensor(
        [
            [0.3651, 0.4232, 0.4341],
            [-0.2533, -0.0042, 0.1068],
            [0.1076, 0.1111, -0.0362],
            [-0.3165, -0.2492, -0.2188],
        ]
    ),
    torch.tensor([0.1084, -0.0175, -0.0011]),
)


@dataclass(frozen=True)
class StepLatents:
    """A denoising step's latents for the whole batch, and the map that previews them."""

    latents: torch.Tensor
    preview: LatentPreview = field(default=SDXL_PREVIEW)

    def preview_of(self, index: int) -> Pixels:
        """The preview of the batch's image `index`."""
        return self.preview(self.latents[index : index + 1])
