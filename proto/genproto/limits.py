"""Every request limit, and the words that refuse a value: the one copy the api, the worker and the page derive from."""

import json
import math
from collections.abc import Iterable
from typing import Final, Literal

# docs/architecture.md, section "Validate at the edge, re-check at the worker": the api's pydantic fields, the
# worker's re-check and (through the OpenAPI schema) the page all read these numbers. No dependencies, so the
# api imports it without torch.

MAX_PROMPT_CHARS: Final = 2000
# A model's or a LoRA's name in the library ("sub/name"); longer is no name the scan could have found.
MAX_NAME_CHARS: Final = 256
# SDXL's VAE down-samples 8x; 2048 is the largest side the UNet was asked to handle here.
MIN_SIDE: Final = 64
MAX_SIDE: Final = 2048
SIDE_STEP: Final = 8
MIN_STEPS: Final = 1
MAX_STEPS: Final = 150
MIN_GUIDANCE: Final = 0.0
MAX_GUIDANCE: Final = 30.0
# The worker's guidance when a request sets none; one value for every checkpoint (SDXL's usual 7).
DEFAULT_GUIDANCE_SCALE: Final = 7.0
# LoRAs per request and their weights. A1111 bounds no weight; its slider for the default extra-network multiplier
# spans 0 to 2 and "tweaker" LoRAs are used negative. Past ±2 a LoRA's delta outweighs the weights it is added to,
# so a larger number is a typo far more often than a wish. 8 LoRAs cover the stacks people share and bound what one
# request makes the engine load.
MAX_LORAS: Final = 8
MIN_LORA_WEIGHT: Final = -2.0
MAX_LORA_WEIGHT: Final = 2.0
# Images per request (seeds seed, seed+1, ...); a worker may allow fewer (WORKER_MAX_COUNT).
MIN_COUNT: Final = 1
MAX_COUNT: Final = 8
MIN_SEED: Final = 0
# A browser holds numbers as IEEE doubles, so a larger seed would not round-trip exactly.
MAX_SEED: Final = 2**53 - 1

# Image to image: how much of the init image is denoised again (A1111's "Denoising strength"); 0 would change
# nothing, so it is refused rather than answered with the input.
MIN_STRENGTH: Final = 0.0  # exclusive
MAX_STRENGTH: Final = 1.0
DEFAULT_STRENGTH: Final = 0.75
# Inpainting: the mask's feathering in pixels (A1111's "Mask blur").
MIN_MASK_BLUR: Final = 0
MAX_MASK_BLUR: Final = 64
DEFAULT_MASK_BLUR: Final = 4
ResizeMode = Literal["just resize", "crop and resize", "resize and fill"]
RESIZE_MODES: Final[tuple[ResizeMode, ...]] = ("just resize", "crop and resize", "resize and fill")
InpaintingFill = Literal["original", "latent noise"]
INPAINTING_FILLS: Final[tuple[InpaintingFill, ...]] = ("original", "latent noise")

ImageFormat = Literal["png", "jpeg", "webp"]
FORMATS: Final[tuple[ImageFormat, ...]] = ("png", "jpeg", "webp")
DEFAULT_FORMAT: Final[ImageFormat] = "png"
MIME_TYPES: Final[dict[ImageFormat, str]] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSIONS: Final[dict[ImageFormat, str]] = {"png": "png", "jpeg": "jpg", "webp": "webp"}
FORMAT_OF_MIME_TYPE: Final[dict[str, ImageFormat]] = {mime: format for format, mime in MIME_TYPES.items()}


def _number(value: float) -> str:
    # 30.0 reads as people wrote it: 30.
    return f"{value:g}" if isinstance(value, float) else str(value)


def blank(field: str) -> str:
    """A required text that is empty or only whitespace."""
    return f"{field} must not be blank"


def too_long(field: str, limit: int, length: int) -> str:
    """A text over its character limit."""
    return f"{field} must be at most {limit} characters (got {length})"


def below(field: str, limit: float, shown: str) -> str:
    """A number under its minimum; `shown` is the value as the client wrote it."""
    return f"{field} must be at least {_number(limit)} (got {shown})"


def above(field: str, limit: float, shown: str) -> str:
    """A number over its maximum."""
    return f"{field} must be at most {_number(limit)} (got {shown})"


def not_multiple(field: str, step: int, shown: str) -> str:
    """A size that is not a multiple of its step."""
    return f"{field} must be a multiple of {step} (got {shown})"


def choices(values: Iterable[str]) -> str:
    """A closed set as pydantic words it: 'png', 'jpeg' or 'webp'."""
    quoted = [repr(value) for value in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def not_one_of(field: str, expected: str, shown: str) -> str:
    """A value outside a closed set; `expected` as `choices` words it."""
    return f"{field} must be one of {expected} (got {shown})"


def not_listed(field: str, name: str, route: str) -> str:
    """A model (or LoRA) name the library does not list; never a path that would be opened."""
    return f"{field} {json.dumps(name)} is not in the model library (see {route})"


def strength_out_of_range(field: str, shown: str) -> str:
    """A denoising strength outside (0, 1]."""
    return f"{field} must be more than {_number(MIN_STRENGTH)} and at most {_number(MAX_STRENGTH)} (got {shown})"


def needs_stream(field: str, count: int, stream: str) -> str:
    """More than one image asked of a route that answers one."""
    return f"{field} must be 1 here (got {count}): several images per request come from {stream}"


def last_seed_above(seed_field: str, count_field: str, seed: int, count: int) -> str:
    """Seeds seed..seed+count-1 would pass MAX_SEED."""
    return (
        f"{seed_field} + {count_field} - 1 must be at most {MAX_SEED} "
        f"(got {seed_field} {seed} and {count_field} {count})"
    )


def not_finite(field: str, shown: str) -> str:
    """NaN or an infinity where a number is needed."""
    return f"{field} must be a finite number (got {shown})"


def check_range(field: str, value: float, low: float, high: float) -> str | None:
    """The refusal for a number outside [low, high] (or not finite), or None when it is inside."""
    if not math.isfinite(value):
        return not_finite(field, _number(value))
    if value < low:
        return below(field, low, _number(value))
    if value > high:
        return above(field, high, _number(value))
    return None


def check_side(field: str, value: int) -> str | None:
    """The refusal for an image side outside the limits or not a multiple of SIDE_STEP, or None."""
    # The step first, as pydantic checks `multiple_of` before the bounds: 63 gets the same words from both.
    if value % SIDE_STEP:
        return not_multiple(field, SIDE_STEP, str(value))
    return check_range(field, value, MIN_SIDE, MAX_SIDE)


# OpenAI's Images API (api/openai/): its compression percentage (accepted, ignored: the worker's encoder has no
# quality knob), the partial images a streamed image may have, and the length of the end user's id it may send.
MIN_OUTPUT_COMPRESSION: Final = 0
MAX_OUTPUT_COMPRESSION: Final = 100
MAX_PARTIAL_IMAGES: Final = 3
# The client's opaque id of its end user, kept with the image in the gallery; as long as a library name may be.
MAX_USER_CHARS: Final = MAX_NAME_CHARS
