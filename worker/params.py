"""Turns a GenerateImageRequest into checked generation parameters, filling defaults from the model."""

import json
import secrets
from dataclasses import dataclass

from genproto import generator_pb2, limits
from genproto.limits import ImageFormat

from worker.errors import InvalidRequest
from worker.model_loader import Defaults

# Random seeds stay within the limit the api enforces, so a browser (a JavaScript number) holds them exactly.
RANDOM_SEED_BOUND = limits.MAX_SEED + 1
_FORMATS: dict[str, ImageFormat] = {name: name for name in limits.FORMATS}


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
    image_format: ImageFormat = limits.DEFAULT_FORMAT


def _check(refusal: str | None) -> None:
    if refusal:
        raise InvalidRequest(refusal)


def resolve_params(request: generator_pb2.GenerateImageRequest, defaults: Defaults) -> GenerationParams:
    """Check every value (INVALID_ARGUMENT naming the field, the limit and the value) and fill the unset ones."""
    # docs/architecture.md, section "Validate at the edge, re-check at the worker": the api's numbers and words.
    if not request.positive_prompt.strip():
        raise InvalidRequest(limits.blank("positive_prompt"))
    for field, text in (("positive_prompt", request.positive_prompt), ("negative_prompt", request.negative_prompt)):
        if len(text) > limits.MAX_PROMPT_CHARS:
            raise InvalidRequest(limits.too_long(field, limits.MAX_PROMPT_CHARS, len(text)))
    width = request.width if request.HasField("width") else defaults.width
    height = request.height if request.HasField("height") else defaults.height
    steps = request.steps if request.HasField("steps") else defaults.steps
    guidance = request.guidance_scale if request.HasField("guidance_scale") else defaults.guidance_scale
    _check(limits.check_side("width", width))
    _check(limits.check_side("height", height))
    _check(limits.check_range("steps", steps, limits.MIN_STEPS, limits.MAX_STEPS))
    _check(limits.check_range("guidance_scale", guidance, limits.MIN_GUIDANCE, limits.MAX_GUIDANCE))
    if request.HasField("seed"):
        seed = request.seed
        _check(limits.check_range("seed", seed, limits.MIN_SEED, limits.MAX_SEED))
    else:
        seed = secrets.randbelow(RANDOM_SEED_BOUND)
    name = request.format if request.HasField("format") else limits.DEFAULT_FORMAT
    image_format = _FORMATS.get(name)
    if image_format is None:
        raise InvalidRequest(limits.not_one_of("format", limits.choices(limits.FORMATS), json.dumps(name)))
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
