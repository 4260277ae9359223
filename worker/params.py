"""Turns a GenerateImageRequest into checked generation parameters, filling defaults from the model."""

import json
import secrets
from dataclasses import dataclass, replace

from genproto import generator_pb2, limits, samplers
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
    # A1111's names (genproto/samplers.py); None: the model's own scheduler, as loaded.
    sampler: str | None = None
    schedule_type: str = samplers.AUTOMATIC
    # Which of the request's images this is (its seed is the request's + image_index), and how many there are.
    image_index: int = 0
    image_count: int = 1
    # The model's name in the library (worker/model_library.py); the servicer sets it.
    model: str = ""
    # The LoRAs by library name and weight: the request's `loras`, then its prompt's `<lora:…>` tags.
    loras: tuple[tuple[str, float], ...] = ()


def _check(refusal: str | None) -> None:
    if refusal:
        raise InvalidRequest(refusal)


def resolve_params(
    request: generator_pb2.GenerateImageRequest, defaults: Defaults, max_count: int = limits.MAX_COUNT
) -> GenerationParams:
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
    seed = request.seed
    if request.HasField("seed"):
        _check(limits.check_range("seed", seed, limits.MIN_SEED, limits.MAX_SEED))
    name = request.format if request.HasField("format") else limits.DEFAULT_FORMAT
    image_format = _FORMATS.get(name)
    if image_format is None:
        raise InvalidRequest(limits.not_one_of("format", limits.choices(limits.FORMATS), json.dumps(name)))
    count = request.count if request.HasField("count") else 1
    _check(limits.check_range("count", count, limits.MIN_COUNT, max_count))
    if request.HasField("seed"):
        if seed + count - 1 > limits.MAX_SEED:
            raise InvalidRequest(limits.last_seed_above("seed", "count", seed, count))
    else:
        seed = secrets.randbelow(RANDOM_SEED_BOUND - (count - 1))
    sampler, schedule = _sampler(request, defaults)
    return GenerationParams(
        prompt=request.positive_prompt,
        negative_prompt=request.negative_prompt,
        width=width,
        height=height,
        steps=steps,
        guidance_scale=guidance,
        seed=seed,
        image_format=image_format,
        sampler=sampler,
        schedule_type=schedule,
        image_count=count,
    )


def _sampler(request: generator_pb2.GenerateImageRequest, defaults: Defaults) -> tuple[str | None, str]:
    """The sampler (None: the model's own, of no A1111 kind) and the concrete schedule type that will run."""
    implied = None
    if request.HasField("sampler"):
        found = samplers.resolve(request.sampler)
        if found is None:
            raise InvalidRequest(
                limits.not_one_of("sampler", limits.choices(samplers.NAMES), json.dumps(request.sampler))
            )
        sampler: samplers.Sampler | None = found[0]
        implied = found[1]
    else:
        sampler = samplers.BY_NAME.get(defaults.sampler or "")
    schedule = implied or samplers.AUTOMATIC
    if request.HasField("schedule_type"):
        named = samplers.resolve_schedule(request.schedule_type)
        if named is None:
            choices = limits.choices(samplers.SCHEDULE_TYPES)
            raise InvalidRequest(limits.not_one_of("schedule_type", choices, json.dumps(request.schedule_type)))
        if named != samplers.AUTOMATIC:  # an explicit schedule wins over one a legacy name implies
            schedule = named
    if sampler is None:  # the model's own scheduler, as loaded: its spacing is all there is
        if schedule not in samplers.SPACING_SCHEDULES[:2]:
            raise InvalidRequest(f"schedule_type {schedule!r} needs a sampler: the model's own scheduler is not one")
        return None, samplers.UNIFORM
    if schedule not in sampler.schedule_types:
        raise InvalidRequest(samplers.schedule_refusal("schedule_type", sampler, schedule))
    return sampler.name, sampler.automatic_schedule if schedule == samplers.AUTOMATIC else schedule


def images(params: GenerationParams) -> list[GenerationParams]:
    """One GenerationParams per image of the request: seeds seed, seed+1, ... (A1111's convention)."""
    return [replace(params, seed=params.seed + i, image_index=i) for i in range(params.image_count)]


def sampler_name(params: GenerationParams) -> str:
    """The sampler as answers and infotext name it; a model scheduler of no A1111 kind is its own default."""
    return params.sampler or "Default"
