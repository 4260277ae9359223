"""Turns a GenerateImageRequest into checked generation parameters, filling defaults from the model."""

import secrets
from dataclasses import dataclass
from typing import Literal

from genproto import generator_pb2

from worker.errors import InvalidRequest
from worker.model_loader import Defaults

# The same limits the api's request model enforces; re-checked here so no caller can crash the pipeline.
MAX_PROMPT_CHARS = 2000
MIN_SIZE, MAX_SIZE, SIZE_MULTIPLE = 64, 2048, 8
MIN_STEPS, MAX_STEPS = 1, 150
MIN_GUIDANCE, MAX_GUIDANCE = 0.0, 30.0
ImageFormat = Literal["png", "jpeg", "webp"]
FORMATS: tuple[ImageFormat, ...] = ("png", "jpeg", "webp")
# Random seeds stay below 2^53 so a browser (a JavaScript number) holds them exactly.
RANDOM_SEED_BOUND = 2**53


@dataclass(frozen=True)
class GenerationParams:
    """One generation, every value decided."""

    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int
    image_format: ImageFormat = "png"


def _check_range(field: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InvalidRequest(f"{field} must be between {low:g} and {high:g} (got {value:g})")


def _check_size(field: str, value: int) -> None:
    _check_range(field, value, MIN_SIZE, MAX_SIZE)
    if value % SIZE_MULTIPLE:
        raise InvalidRequest(f"{field} must be a multiple of {SIZE_MULTIPLE} (got {value})")


def resolve_params(request: generator_pb2.GenerateImageRequest, defaults: Defaults) -> GenerationParams:
    """Check every value (INVALID_ARGUMENT naming the field, the limit and the value) and fill the unset ones."""
    if not request.positive_prompt.strip():
        raise InvalidRequest("positive_prompt must not be blank")
    for field, text in (("positive_prompt", request.positive_prompt), ("negative_prompt", request.negative_prompt)):
        if len(text) > MAX_PROMPT_CHARS:
            raise InvalidRequest(f"{field} must be at most {MAX_PROMPT_CHARS} characters (got {len(text)})")
    width = request.width if request.HasField("width") else defaults.width
    height = request.height if request.HasField("height") else defaults.height
    steps = request.steps if request.HasField("steps") else defaults.steps
    guidance = request.guidance_scale if request.HasField("guidance_scale") else defaults.guidance_scale
    _check_size("width", width)
    _check_size("height", height)
    _check_range("steps", steps, MIN_STEPS, MAX_STEPS)
    _check_range("guidance_scale", guidance, MIN_GUIDANCE, MAX_GUIDANCE)
    seed = request.seed if request.HasField("seed") else secrets.randbelow(RANDOM_SEED_BOUND)
    image_format = request.format if request.HasField("format") else "png"
    if image_format not in FORMATS:
        raise InvalidRequest(f"format must be one of {', '.join(FORMATS)} (got {image_format!r})")
    return GenerationParams(
        prompt=request.positive_prompt,
        negative_prompt=request.negative_prompt,
        width=width,
        height=height,
        steps=steps,
        guidance_scale=guidance,
        seed=seed,
        image_format=image_format,
    )
