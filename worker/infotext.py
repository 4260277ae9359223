"""AUTOMATIC1111's "infotext": one image's generation parameters as the text A1111 writes inside its image files.

The layout is A1111's `create_infotext` (modules/processing.py) and its `quote` (modules/infotext_utils.py), so
A1111's "PNG Info" tab, Civitai and readers such as sd-parsers read our images as A1111's:

    <prompt>
    Negative prompt: <negative prompt>            (only when there is one)
    Steps: 30, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 42, Size: 1024x1024,
    Model hash: 0123456789, Model: sd_xl_base_1.0, Version: img-generator 0.1.0        (one line)
"""

import json
from collections.abc import Sequence
from functools import cache
from importlib import metadata

from genproto import samplers

from worker.params import GenerationParams

PACKAGE = "img-generator"
# The checkpoint suffixes A1111 drops from a model's name (it takes the file name without its extension). A diffusers
# folder keeps its whole name: `splitext` would cut "stable-diffusion-xl-base-1.0" at its last dot.
_CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf")
# Characters that would split a value in A1111's parser (`re_param`): such values are JSON strings.
_SPECIAL = (",", ":", "\n")


@cache
def service_version() -> str:
    """This service's package version, as installed."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def model_name_for_infotext(name: str) -> str:
    """A model's name as A1111 writes it: a checkpoint file's name without its extension."""
    for suffix in _CHECKPOINT_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def quote(value: object) -> str:
    """A1111's `quote`: a value holding `,` `:` or a newline as a JSON string (non-ASCII kept), else as it is."""
    text = str(value)
    if any(char in text for char in _SPECIAL):
        return json.dumps(text, ensure_ascii=False)
    return text


def format_number(value: float) -> str:
    """A number as A1111's UI writes it: 7 for a whole number (never 7.0), else Python's shortest form (6.5)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def schedule_label(sampler: str | None, schedule_type: str) -> str:
    """The "Schedule type" A1111 records: "Automatic" becomes the sampler's own schedule where it has one."""
    # A1111's KDiffusionSampler.get_sigmas replaces "Automatic" with the resolved scheduler's label (DPM++ 2M:
    # Karras); a sampler without one of its own (Euler a) keeps "Automatic". A1111 never leaves the field out.
    if schedule_type != samplers.AUTOMATIC or sampler is None:
        return schedule_type
    known = samplers.BY_NAME.get(sampler)
    if known is None or "scheduler" not in known.options:
        return schedule_type
    return known.automatic_schedule


def infotext(
    params: GenerationParams,
    *,
    model_name: str,
    model_hash: str | None,
    version: str,
    lora_hashes: Sequence[tuple[str, str]] = (),
) -> str:
    """One image's A1111 infotext.

    `params.seed` is this image's own seed (A1111 writes `all_seeds[index]`). `params.sampler` None means the
    model's own scheduler: the caller puts that scheduler's A1111 name in first (`worker.samplers.name_of` on the
    loaded pipeline's scheduler, via `dataclasses.replace`); one that is still None is left out, as A1111 leaves out
    every None value. `model_hash` None (a diffusers folder, the demo model) leaves out "Model hash" the same way.
    """
    fields: dict[str, str | None] = {
        "Steps": str(params.steps),
        "Sampler": params.sampler,
        "Schedule type": schedule_label(params.sampler, params.schedule_type),
        "CFG scale": format_number(params.guidance_scale),
        "Seed": str(params.seed),
        "Size": f"{params.width}x{params.height}",
        "Model hash": model_hash,
        "Model": model_name_for_infotext(model_name),
        # Image to image (A1111's img2img tab writes these two).
        "Denoising strength": format_number(params.strength) if params.init is not None else None,
        "Mask blur": str(params.mask_blur) if params.init is not None and params.init.mask is not None else None,
        # A1111's Lora extension (extensions-builtin/Lora/scripts/lora_script.py): "alias: hash, ..." in one value.
        "Lora hashes": ", ".join(f"{name}: {short}" for name, short in lora_hashes) or None,
        "Version": f"{PACKAGE} {version}",
    }
    # A1111 writes a key alone when its value is the key itself (flags); none of ours is.
    line = ", ".join(f"{key}: {quote(value)}" for key, value in fields.items() if value is not None)
    negative = f"\nNegative prompt: {params.negative_prompt}" if params.negative_prompt else ""
    # A1111 strips the whole text, so a prompt's leading or trailing blank lines never reach the file.
    return f"{params.prompt}{negative}\n{line}".strip()
