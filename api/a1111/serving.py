"""A1111's request → the one internal request (the native model), the worker's answers → A1111's, its error shape."""

import asyncio
import base64
import io
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any, Final

import grpc
from fastapi.responses import JSONResponse, Response
from genproto import generator_pb2, limits, samplers
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import ValidationError

from api.a1111.jobs import Job
from api.a1111.protocol import (
    INPAINTING_FILLS,
    RESIZE_MODES,
    Generation,
    ImageResponse,
    Img2ImgRequest,
    Txt2ImgRequest,
)
from api.errors import ApiError, describe, field_name
from api.native.protocol import GenerateImageRequest
from api.native.serving import to_proto
from api.problems import ErrorCode
from api.worker_client import WorkerClient
from api.worker_stream import WorkerStream

log = logging.getLogger(__name__)

# The native field (its JSON name) → the A1111 field it came from: every refusal names what the client sent.
NATIVE_TO_A1111: Final = {
    "positivePrompt": "prompt",
    "negativePrompt": "negative_prompt",
    "width": "width",
    "height": "height",
    "steps": "steps",
    "guidanceScale": "cfg_scale",
    "seed": "seed",
    "sampler": "sampler_name",
    "scheduleType": "scheduler",
    "count": "batch_size",
    "model": "override_settings.sd_model_checkpoint",
    "initImage": "init_images",
    "mask": "mask",
    "denoisingStrength": "denoising_strength",
    "maskBlur": "mask_blur",
    "inpaintingFill": "inpainting_fill",
    "resizeMode": "resize_mode",
    "save": "do_not_save_samples",
}
# Native checks that word their own refusal write the field's native name: such a name (camelCase) is put back.
_NATIVE_NAME: Final = re.compile(r"\b(" + "|".join(n for n in NATIVE_TO_A1111 if n != n.lower()) + r")\b")
CHECKPOINT_FIELD: Final = "override_settings.sd_model_checkpoint"
MODELS_ROUTE: Final = "GET /sdapi/v1/sd-models"
# Keeps a batch's images in the gallery (api.gallery.recording.keep, bound to the request).
Keep = Callable[[GenerateImageRequest, list[generator_pb2.GenerateImageResponse]], Awaitable[list[str | None]]]


def error_body(status: int, code: ErrorCode, message: str, field: str | None, headers: Mapping[str, str]) -> Response:
    """A1111's api middleware shape ({error, detail, body, errors}); `error` is the one table's code."""
    body = {"error": code.value, "detail": message, "body": "", "errors": message}
    return JSONResponse(body, status_code=status, headers=dict(headers))


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema's enum sees it: 0 is 0.0, but false is not 0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _unsupported(field: str, what: str, value: Any) -> ApiError:
    message = f"{field} is not supported here ({what}; got {_shown(value)})"
    return ApiError(422, ErrorCode.INVALID_VALUE, message, field=field)


def refuse_unsupported(body: Generation, table: Mapping[str, tuple[tuple[Any, ...], str]]) -> None:
    """422 naming the first feature this service lacks that the request turns on; its defaults pass."""
    for field, (off, what) in table.items():
        value = getattr(body, field)
        if not any(_json_equal(value, each) for each in off):
            raise _unsupported(field, f"{what}: leave it at {_shown(off[0])}", value)
    for name, script in (body.alwayson_scripts or {}).items():
        args = script.get("args") if isinstance(script, dict) else None
        if not (isinstance(args, list) and (args == [] or (len(args) == 1 and args[0] is False))):
            raise _unsupported(
                f"alwayson_scripts.{name}", "extension scripts; only disabled ones, args [] or [false]", script
            )
    if body.model_extra:
        log.info("A1111 request: ignored unknown fields %s", ", ".join(sorted(body.model_extra)))


def _rename(error: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    native = field_name(error) or ""
    renamed = dict(error, loc=(names.get(native, native),))
    if error["type"] == "refused":  # the check worded the message itself, with the native name
        message = _NATIVE_NAME.sub(lambda m: names.get(m.group(1), m.group(1)), str(error["ctx"]["message"]))
        renamed["ctx"] = {**error["ctx"], "message": message}
    return renamed


def native_request(fields: dict[str, Any], names: Mapping[str, str] = NATIVE_TO_A1111) -> GenerateImageRequest:
    """The native model (the one validation table); a refusal is a 422 naming the A1111 field."""
    try:
        return GenerateImageRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        errors = [_rename(e, names) for e in error.errors()]
        message = "; ".join(describe(e) for e in errors)
        raise ApiError(422, ErrorCode.INVALID_VALUE, message, field=field_name(errors[0])) from None


def _bare(title: str) -> str:
    """A model title without A1111's " [hash]" and a checkpoint suffix: what a name is compared by."""
    name = re.sub(r"\s*\[[0-9a-fA-F]+\]$", "", title.strip())
    return re.sub(r"\.(safetensors|ckpt)$", "", name)


def find_model(listed: generator_pb2.ModelList, wanted: Any, field: str) -> str:
    """The library name of a model named by its title or name (A1111 clients send titles), else a 422."""
    if not isinstance(wanted, str):
        raise ApiError(422, ErrorCode.INVALID_VALUE, f"{field} must be a string (got {_shown(wanted)})", field=field)
    for model in listed.models:
        if wanted in (model.title, model.name) or _bare(wanted) in (_bare(model.title), model.name):
            return model.name
    raise ApiError(422, ErrorCode.INVALID_VALUE, limits.not_listed(field, wanted, MODELS_ROUTE), field=field)


async def checkpoint_of(worker: WorkerClient, body: Generation) -> str | None:
    """override_settings.sd_model_checkpoint as a library name; other overrides are ignored (logged)."""
    overrides = dict(body.override_settings or {})
    wanted = overrides.pop("sd_model_checkpoint", None)
    if overrides:
        log.info("A1111 request: ignored override_settings %s", ", ".join(sorted(overrides)))
    if wanted is None or wanted == "":
        return None
    return find_model(await worker.list_models(), wanted, CHECKPOINT_FIELD)


def _common_fields(body: Generation, model: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The native fields both routes share, and the names to refuse them by."""
    names = dict(NATIVE_TO_A1111)
    sampler = body.sampler_name
    if sampler is None and body.sampler_index is not None:
        sampler, names["sampler"] = body.sampler_index, "sampler_index"
    elif body.sampler_index is not None:
        # Checked though unused, as its schema says (an unknown name is a client's bug either way).
        native_request({"positivePrompt": "x", "sampler": body.sampler_index}, {**names, "sampler": "sampler_index"})
    scheduler = body.scheduler
    if isinstance(scheduler, str):
        scheduler = samplers.resolve_schedule(scheduler.replace("_", " ")) or scheduler
    fields = {
        "positivePrompt": body.prompt,
        "negativePrompt": body.negative_prompt,
        "width": body.width,
        "height": body.height,
        "steps": body.steps,
        "guidanceScale": body.cfg_scale,
        "seed": None if body.seed is None or body.seed == -1 else body.seed,
        "sampler": sampler,
        "scheduleType": scheduler,
        "count": body.batch_size,
        "model": model,
        "save": False if body.do_not_save_samples else None,
    }
    return fields, names


def _check_seeds(body: Generation) -> None:
    # All batches' seeds follow on (seed + batch_size * n_iter - 1), so the limit is checked over them all.
    batch = body.batch_size
    if body.seed is None or body.seed < 0 or not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        return
    total = batch * body.n_iter
    if body.seed + total - 1 > limits.MAX_SEED:
        message = limits.last_seed_above("seed", "batch_size * n_iter", body.seed, total)
        raise ApiError(422, ErrorCode.INVALID_VALUE, message, field="seed")


def with_first_seed(native: GenerateImageRequest, n_iter: int) -> GenerateImageRequest:
    """Several batches need one known first seed, so a random one is drawn here (the worker draws it otherwise)."""
    if native.seed is not None or n_iter == 1:
        return native
    total = (native.count or 1) * n_iter
    return native.model_copy(update={"seed": limits.MIN_SEED + secrets.randbelow(limits.MAX_SEED - total + 2)})


def txt2img_request(body: Txt2ImgRequest, model: str | None) -> GenerateImageRequest:
    """txt2img as the native request (the first batch's)."""
    _check_seeds(body)
    fields, names = _common_fields(body, model)
    return with_first_seed(native_request(fields, names), body.n_iter)


async def img2img_request(body: Img2ImgRequest, model: str | None) -> GenerateImageRequest:
    """img2img as the native request: the init image, the mask (inverted here when asked), the A1111 codes."""
    _check_seeds(body)
    if not isinstance(body.init_images[0], str):  # null would read as "no init image" to the native model
        message = f"init_images must hold a base64 string (got {_shown(body.init_images[0])})"
        raise ApiError(422, ErrorCode.INVALID_VALUE, message, field="init_images")
    if len(body.init_images) > 1:
        raise _unsupported("init_images", "one init image per request", f"{len(body.init_images)} images")
    if body.inpainting_fill not in INPAINTING_FILLS:
        raise _unsupported(
            "inpainting_fill", f"it takes {limits.choices(map(str, INPAINTING_FILLS))}", body.inpainting_fill
        )
    if body.resize_mode not in RESIZE_MODES:
        raise _unsupported("resize_mode", f"it takes {limits.choices(map(str, RESIZE_MODES))}", body.resize_mode)
    if body.inpainting_mask_invert not in (0, 1):
        raise _unsupported("inpainting_mask_invert", "it takes 0 or 1", body.inpainting_mask_invert)
    fields, names = _common_fields(body, model)
    fields |= {
        "initImage": body.init_images[0],
        "mask": body.mask,
        "denoisingStrength": body.denoising_strength,
        "maskBlur": body.mask_blur,
        "inpaintingFill": INPAINTING_FILLS[body.inpainting_fill],
        "resizeMode": RESIZE_MODES[body.resize_mode],
    }
    native = with_first_seed(native_request(fields, names), body.n_iter)
    if body.inpainting_mask_invert == 1 and native.mask is not None:
        native = native.model_copy(update={"mask": await asyncio.to_thread(inverted, native.mask)})
    return native


def inverted(mask: bytes) -> bytes:
    """The mask with black and white swapped, as a PNG; bytes Pillow cannot read go on as they are (the worker
    refuses them with its own words)."""
    try:
        with Image.open(io.BytesIO(mask)) as image:
            swapped = ImageOps.invert(image.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError):
        return mask
    out = io.BytesIO()
    swapped.save(out, format="PNG")
    return out.getvalue()


def _locally_cancelled() -> bool:
    """Whether a CancelledError came from our own call.cancel() (interrupt, skip), not from this task's cancel."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0


async def run_batch(
    worker: WorkerClient, native: GenerateImageRequest, job: Job
) -> list[generator_pb2.GenerateImageResponse]:
    """One batch through the worker's stream (its progress and previews go to the job); the images it finished.

    An interrupt or skip cancels the call: the images done so far are the answer, as A1111 gives them.
    """
    stream = job.stream = WorkerStream(worker, to_proto(native))
    results: list[generator_pb2.GenerateImageResponse] = []
    try:
        async with aclosing(stream.events()) as events:
            async for event in events:
                kind = event.WhichOneof("event")
                if kind == "progress":
                    job.on_progress(event.progress)
                elif kind == "result":
                    results.append(event.result)
    except asyncio.CancelledError:
        # grpc.aio raises CancelledError for a call cancelled locally; a client that left cancels the task
        # itself (cancelling() > 0), which must go on up.
        if (job.interrupted or job.skipped) and _locally_cancelled():
            return results
        raise
    except grpc.aio.AioRpcError as error:
        if (job.interrupted or job.skipped) and error.code() == grpc.StatusCode.CANCELLED:
            return results
        raise
    finally:
        job.stream = None
    return results


async def run_job(
    worker: WorkerClient, first: GenerateImageRequest, job: Job, keep: Keep
) -> list[generator_pb2.GenerateImageResponse]:
    """n_iter batches, one after another, seeds following on; each batch's images kept as it ends."""
    results: list[generator_pb2.GenerateImageResponse] = []
    for iteration in range(job.n_iter):
        if job.interrupted:
            break
        job.iteration, job.image_index, job.step, job.skipped = iteration, 0, 0, False
        seed = None if first.seed is None else first.seed + iteration * job.batch_size
        native = first.model_copy(update={"seed": seed})
        batch = await run_batch(worker, native, job)
        if batch:
            await keep(native, batch)
        results += batch
    return results


def image_answer(
    body: Generation, native: GenerateImageRequest, results: list[generator_pb2.GenerateImageResponse]
) -> ImageResponse:
    """A1111's answer: base64 PNGs, the request back, and `info` (a JSON string) describing what was made."""
    images = [base64.b64encode(r.image).decode("ascii") for r in results] if body.send_images is not False else []
    parameters = body.model_dump(exclude=set(body.model_extra or {}))
    if isinstance(body, Img2ImgRequest):
        if body.include_init_images:
            images += [each.split(",", 1)[1] if each.startswith("data:") else each for each in body.init_images]
        else:  # as A1111: the inputs are not echoed back
            parameters |= {"init_images": None, "mask": None}
    return ImageResponse(images=images, parameters=parameters, info=json.dumps(info(body, native, results)))


def info(
    body: Generation, native: GenerateImageRequest, results: list[generator_pb2.GenerateImageResponse]
) -> dict[str, Any]:
    """A1111's Processed.js(): the values used, one entry per answered image in all_* and infotexts."""
    first = results[0] if results else None
    count = len(results)
    subseed = body.subseed if body.subseed is not None and body.subseed >= 0 else -1
    return {
        "prompt": native.positive_prompt,
        "all_prompts": [native.positive_prompt] * count,
        "negative_prompt": native.negative_prompt,
        "all_negative_prompts": [native.negative_prompt] * count,
        "seed": first.seed if first else (native.seed if native.seed is not None else -1),
        "all_seeds": [r.seed for r in results],
        "subseed": subseed,
        "all_subseeds": [subseed] * count,
        "subseed_strength": 0,
        "width": first.width if first else native.width,
        "height": first.height if first else native.height,
        "sampler_name": first.sampler if first else native.sampler,
        "cfg_scale": first.guidance_scale if first else native.guidance_scale,
        "steps": first.steps if first else native.steps,
        "batch_size": native.count or 1,
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": first.model_name if first else native.model,
        "sd_model_hash": (first.model_hash or None) if first else None,
        "sd_vae_name": None,
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": (first.denoising_strength or None) if first else native.denoising_strength,
        "extra_generation_params": {"Schedule type": first.schedule_type} if first else {},
        "index_of_first_image": 0,
        "infotexts": [r.infotext for r in results],
        "styles": [],
        "job_timestamp": time.strftime("%Y%m%d%H%M%S"),
        "clip_skip": 1,
        "is_using_inpainting_conditioning": False,
        "version": "img-generator",
    }
