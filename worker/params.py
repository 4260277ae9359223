"""Turns a GenerateImageRequest into checked generation parameters, filling defaults from the model."""

import dataclasses
import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from typing import Literal

from genproto import generator_pb2, limits, samplers
from genproto.limits import ImageFormat

from worker import init_images
from worker.errors import InvalidRequest
from worker.init_images import Prepared
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
    # The prompt without its `<lora:…>` tags, as the text encoders see it (None: the prompt as it is). Set once
    # at submit, so the engine thread never parses tags; `prompt` keeps them for the infotext, as A1111 does.
    encoder_prompt: str | None = None
    # Image to image: the strength (0: text to image), the mask's blur, the masked area's fill, the prepared
    # pixels (not compared: image_key, their digest, stands for them) and their digest.
    strength: float = 0.0
    mask_blur: int = 0
    inpainting_fill: str = "original"
    init: Prepared | None = dataclasses.field(default=None, compare=False, repr=False)
    image_key: str = ""

    @property
    def text_for_encoders(self) -> str:
        """The positive prompt the text encoders get."""
        return self.prompt if self.encoder_prompt is None else self.encoder_prompt

    @property
    def run_steps(self) -> int:
        """The denoising steps that really run: all of them, or about steps x strength from an init image."""
        if self.init is None:
            return self.steps
        # diffusers' img2img: init_timestep = min(int(steps * strength), steps).
        return min(int(self.steps * self.strength), self.steps)


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
    if request.HasField("width"):
        _check(limits.check_side("width", width))
    if request.HasField("height"):
        _check(limits.check_side("height", height))
    start = _image_to_image(request)
    if start.prepared is not None:
        height, width = start.prepared.image.shape[:2]
    steps = request.steps if request.HasField("steps") else defaults.steps
    guidance = request.guidance_scale if request.HasField("guidance_scale") else defaults.guidance_scale
    _check(limits.check_side("width", width))
    _check(limits.check_side("height", height))
    _check(limits.check_range("steps", steps, limits.MIN_STEPS, limits.MAX_STEPS))
    if start.prepared is not None and int(steps * start.strength) < 1:
        raise InvalidRequest(f"denoisingStrength {start.strength:g} x steps {steps} must be at least one step")
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
        strength=start.strength,
        mask_blur=start.mask_blur,
        inpainting_fill=start.fill,
        init=start.prepared,
        image_key=start.key,
    )


_IMAGE_FIELDS: dict[Literal["denoising_strength", "mask_blur", "inpainting_fill", "resize_mode"], str] = {
    "denoising_strength": "denoisingStrength",
    "mask_blur": "maskBlur",
    "inpainting_fill": "inpaintingFill",
    "resize_mode": "resizeMode",
}


@dataclass(frozen=True)
class _Start:
    """What an image-to-image request starts from; all defaults for text to image."""

    prepared: Prepared | None = None
    strength: float = 0.0
    mask_blur: int = 0
    fill: str = "original"
    key: str = ""


def _image_to_image(request: generator_pb2.GenerateImageRequest) -> _Start:
    """Decode, check and size the init image and the mask (on this handler's thread, never the engine's)."""
    if not request.init_image:
        # Worker-only checks name the fields as the api's JSON does, since the api passes these words on.
        for field, shown in _IMAGE_FIELDS.items():
            if request.HasField(field):
                raise InvalidRequest(f"{shown} applies to image to image: send initImage too")
        if request.mask:
            raise InvalidRequest("mask applies to image to image: send initImage too")
        return _Start()
    strength = request.denoising_strength if request.HasField("denoising_strength") else limits.DEFAULT_STRENGTH
    if not limits.MIN_STRENGTH < strength <= limits.MAX_STRENGTH:
        raise InvalidRequest(limits.strength_out_of_range("denoising_strength", f"{strength:g}"))
    blur = request.mask_blur if request.HasField("mask_blur") else limits.DEFAULT_MASK_BLUR
    _check(limits.check_range("mask_blur", blur, limits.MIN_MASK_BLUR, limits.MAX_MASK_BLUR))
    fill = request.inpainting_fill if request.HasField("inpainting_fill") else limits.INPAINTING_FILLS[0]
    if fill not in limits.INPAINTING_FILLS:
        choices = limits.choices(limits.INPAINTING_FILLS)
        raise InvalidRequest(limits.not_one_of("inpainting_fill", choices, json.dumps(fill)))
    mode = request.resize_mode if request.HasField("resize_mode") else limits.RESIZE_MODES[0]
    if mode not in limits.RESIZE_MODES:
        raise InvalidRequest(limits.not_one_of("resize_mode", limits.choices(limits.RESIZE_MODES), json.dumps(mode)))
    init = init_images.decode(request.init_image, "initImage")
    mask = init_images.decode(request.mask, "mask") if request.mask else None
    width = request.width if request.HasField("width") else None
    height = request.height if request.HasField("height") else None
    size = init_images.output_size(init, width, height)
    prepared = init_images.prepare(init, mask, size, mode, blur)
    # Jobs share a pipeline call only when they start from the same pixels.
    key = hashlib.sha256(
        prepared.image.tobytes() + (prepared.mask.tobytes() if prepared.mask is not None else b"")
    ).hexdigest()
    return _Start(prepared, strength, blur if prepared.mask is not None else 0, fill, key)


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
