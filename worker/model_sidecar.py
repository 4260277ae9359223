"""A diffusers folder's `img-generator.json`: what the model draws, its own defaults, its latent preview map.

Optional beside `model_index.json`: a model without it gets SDXL base's defaults and SDXL's preview map. The demo
model ships one (models/demo-shapes, written by scripts/train_demo.py), so the facts of a trained model are
written once, by the recipe that made it, and read here by the worker, /ready and the evaluation.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import torch
from genproto import limits
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worker.checkpoint import CheckpointError
from worker.previews import SDXL_PREVIEW, LatentPreview

SIDECAR_NAME: Final = "img-generator.json"


class _PreviewFit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latent_to_rgb: list[list[float]] = Field(min_length=4, max_length=4)
    rgb_bias: list[float] = Field(min_length=3, max_length=3)


class _Sidecar(BaseModel):
    """The file's schema; every key optional."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=1000)
    steps: int | None = Field(None, ge=limits.MIN_STEPS, le=limits.MAX_STEPS)
    guidance_scale: float | None = Field(None, ge=limits.MIN_GUIDANCE, le=limits.MAX_GUIDANCE)
    latent_preview: _PreviewFit | None = None


@dataclass(frozen=True)
class ModelSidecar:
    """What a model folder says about itself; empty when it says nothing."""

    description: str = ""
    steps: int | None = None
    guidance_scale: float | None = None
    preview: LatentPreview = SDXL_PREVIEW


def read_sidecar(folder: Path | None) -> ModelSidecar:
    """The sidecar of a diffusers folder (none for a single file); raises CheckpointError naming a bad key."""
    path = folder / SIDECAR_NAME if folder is not None and folder.is_dir() else None
    if path is None or not path.is_file():
        return ModelSidecar()
    try:
        parsed = _Sidecar.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        if isinstance(error, ValidationError):
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise CheckpointError(f"{path}: {where}: {first['msg']} (got {first.get('input')!r})") from None
        raise CheckpointError(f"{path}: not readable JSON ({error})") from None
    fit = parsed.latent_preview
    if fit is not None and any(len(row) != 3 for row in fit.latent_to_rgb):
        raise CheckpointError(f"{path}: latent_preview.latent_to_rgb: each of the 4 rows needs 3 values (R, G, B)")
    preview = (
        LatentPreview(torch.tensor(fit.latent_to_rgb), torch.tensor(fit.rgb_bias)) if fit is not None else SDXL_PREVIEW
    )
    return ModelSidecar(parsed.description, parsed.steps, parsed.guidance_scale, preview)


def write_sidecar(folder: Path, description: str, steps: int, guidance_scale: float, fit: dict[str, object]) -> None:
    """Write a folder's sidecar (the training recipe's facts), validated by the schema read_sidecar uses."""
    sidecar = _Sidecar.model_validate(
        {"description": description, "steps": steps, "guidance_scale": guidance_scale, "latent_preview": fit}
    )
    (folder / SIDECAR_NAME).write_text(json.dumps(sidecar.model_dump(), indent=1) + "\n", encoding="utf-8")
