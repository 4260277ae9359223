"""OpenAI's dialect translated: its request into the native one, the answers and the one error table into its shapes."""

import base64
import io
import json
import re
import time
from collections.abc import Mapping
from typing import Any, Final

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from genproto import generator_pb2, limits
from PIL import Image, ImageOps
from pydantic import ValidationError

from api.errors import ApiError, describe
from api.native.protocol import GenerateImageRequest, LoraWeight
from api.openai.protocol import (
    OPENAI_PARAMS,
    OPENAI_WORDS,
    QUALITY_STEPS,
    ImageData,
    ImageOptions,
    ImagesResponse,
    Model,
    ModelList,
)
from api.problems import ErrorCode
from api.worker_client import WorkerClient

# The SDK retries 429 and 5xx (twice by default) unless told `x-should-retry: false`. These ran (or may have run)
# the work, so a retry computes the image again: a 504 whose job may still run, a 500, and out of memory (the same
# size fails the same way). A full queue, a rate limit and an unavailable worker ran nothing: retrying may succeed.
NO_RETRY_STATUSES: Final = frozenset({500, 504})
NO_RETRY_CODES: Final = frozenset({ErrorCode.OUT_OF_MEMORY})
_DIGITS: Final = re.compile("[0-9]+")
# Who owns the library's models, as OpenAI's model list says.
OWNER: Final = "img-generator"


# --- the request ----------------------------------------------------------------------------------------------


def parse_size(size: str | None) -> tuple[int | None, int | None]:
    """WIDTHxHEIGHT as numbers (checked by the native request), or (None, None) for auto: the model's size."""
    if size is None or size == "auto":
        return None, None
    width, separator, height = size.partition("x")
    # ASCII digits only: str.isdecimal() takes fullwidth and other scripts' digits too, which no client means.
    if not (separator and _DIGITS.fullmatch(width) and _DIGITS.fullmatch(height)):
        shown = json.dumps(size[:40])
        raise ApiError(
            400,
            ErrorCode.INVALID_VALUE,
            f"size must be auto or WIDTHxHEIGHT, e.g. 1024x1024 (got {shown})",
            field="size",
        )
    return int(width), int(height)


def steps_of(options: ImageOptions) -> int | None:
    """The steps: `steps` (or `num_inference_steps`) when given, else the quality's (QUALITY_STEPS)."""
    if options.steps is not None:
        return options.steps
    if options.num_inference_steps is not None:
        return options.num_inference_steps
    return QUALITY_STEPS[options.quality or "auto"]


def native_request(
    options: ImageOptions,
    *,
    loras: list[LoraWeight] | None = None,
    init_image: bytes | None = None,
    mask: bytes | None = None,
    denoising_strength: float | None = None,
    mask_blur: int | None = None,
) -> GenerateImageRequest:
    """The native request (its one validation table); a refusal is a 400 naming OpenAI's param."""
    width, height = parse_size(options.size)
    values: dict[str, Any] = {
        "positivePrompt": options.prompt,
        "negativePrompt": options.negative_prompt,
        "width": width,
        "height": height,
        "steps": steps_of(options),
        "guidanceScale": options.guidance_scale,
        "seed": options.seed,
        "format": options.output_format,
        "sampler": options.sampler,
        "scheduleType": options.schedule_type,
        "count": options.n,
        "model": options.model,
        "loras": loras,
        # The native request reads images as base64, as its JSON clients send them.
        "initImage": base64.b64encode(init_image).decode("ascii") if init_image is not None else None,
        "mask": base64.b64encode(mask).decode("ascii") if mask is not None else None,
        "denoisingStrength": denoising_strength,
        "maskBlur": mask_blur,
    }
    params = dict(OPENAI_PARAMS)
    if options.steps is None and options.num_inference_steps is not None:
        params["steps"] = "num_inference_steps"
    try:
        return GenerateImageRequest.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise refusal(error, params) from None


def refusal(error: ValidationError, params: Mapping[str, str] = OPENAI_PARAMS) -> ApiError:
    """The native request's refusal in OpenAI's words: every message, the first field as `param`."""
    errors = error.errors()

    def renamed(native: Any) -> str:
        return OPENAI_WORDS.get(str(native)) or params.get(str(native), str(native))

    messages = [describe({**e, "loc": (renamed(e["loc"][0]), *e["loc"][1:])} if e["loc"] else e) for e in errors]
    first = errors[0]["loc"]
    param = params.get(str(first[0]), str(first[0])) if first else None
    return ApiError(400, ErrorCode.INVALID_VALUE, "; ".join(messages), field=param)


def one_image(images: list[bytes]) -> bytes:
    """The image an edit starts from: exactly one (image to image starts from one picture)."""
    if len(images) != 1:
        message = (
            "image is required: the picture to edit (PNG, JPEG or WebP)"
            if not images
            else f"image must be one picture: an edit starts from one image (got {len(images)})"
        )
        raise ApiError(400, ErrorCode.INVALID_VALUE, message, field="image")
    return images[0]


def repaint_mask(data: bytes) -> bytes:
    """OpenAI's mask (transparent pixels are edited) as the native one (white repaints): its alpha, inverted.

    Bytes that are no image pass on unchanged: the worker reads them and words the refusal, as for any image.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
                message = "mask must have an alpha channel: its transparent pixels are the area to edit"
                raise ApiError(400, ErrorCode.INVALID_VALUE, message, field="mask")
            alpha = image.convert("RGBA").getchannel("A")
    except (OSError, ValueError, Image.DecompressionBombError):
        return data
    out = io.BytesIO()
    ImageOps.invert(alpha).save(out, format="PNG")
    return out.getvalue()


async def check_model(worker: WorkerClient, name: str | None) -> None:
    """404 naming `model` and the library's names when the name is not in it (e.g. OpenAI's dall-e-3).

    404, as OpenAI answers a model that does not exist (model_not_found): the name is well formed, the library
    (which changes at run time) has no such model.
    """
    if name is None:
        return
    names = [m.name for m in (await worker.list_models()).models]
    if name not in names:
        message = f"{limits.not_listed('model', name, 'GET /v1/models')}; the models are {', '.join(names)}"
        raise ApiError(404, ErrorCode.NOT_FOUND, message, field="model")


async def check_count(worker: WorkerClient, n: int | None) -> None:
    """400 naming `n` past what every serving worker allows (maxCount, WORKER_MAX_COUNT); the worker re-checks."""
    if n is None or n <= 1:
        return
    serving = [w.info for w in await worker.check_workers() if w.info is not None]
    if not serving:
        return  # the generation itself answers that no worker serves
    most = min(info.max_count or 1 for info in serving)
    if n > most:
        message = f"{limits.above('n', most, str(n))}: the most this gateway's workers make per request (maxCount)"
        raise ApiError(400, ErrorCode.INVALID_VALUE, message, field="n")


def check_response_format(options: ImageOptions, gallery_on: bool) -> None:
    """url needs the gallery: the url is the image's address there. Streams ignore it (their events carry base64).

    404, as the gallery's own routes answer while it is off: the request is well formed, this gateway keeps no
    images to point at.
    """
    if options.response_format == "url" and not options.stream and not gallery_on:
        message = (
            "response_format url needs the gallery, which is off on this gateway (API_GALLERY=false): the url is "
            "the image's address in it; use b64_json"
        )
        raise ApiError(404, ErrorCode.NOT_FOUND, message, field="response_format")


# --- the answer -----------------------------------------------------------------------------------------------


def image_format(reply: generator_pb2.GenerateImageResponse) -> limits.ImageFormat:
    """The format of the reply's bytes."""
    return limits.FORMAT_OF_MIME_TYPE.get(reply.mime_type, limits.DEFAULT_FORMAT)


def gallery_url(request: Request, image_id: str) -> str:
    """The image's absolute address in the gallery (GET /images/{id}/file)."""
    return f"{str(request.base_url).rstrip('/')}/images/{image_id}/file"


def images_response(
    request: Request,
    options: ImageOptions,
    replies: list[generator_pb2.GenerateImageResponse],
    image_ids: list[str | None],
) -> JSONResponse:
    """The answer: each image as base64, or as its gallery URL (an image the gallery failed to keep: base64)."""
    data = [
        ImageData(url=gallery_url(request, image_id), revised_prompt=None)
        if options.response_format == "url" and image_id is not None
        else ImageData(b64_json=base64.b64encode(reply.image).decode("ascii"), revised_prompt=None)
        for reply, image_id in zip(replies, image_ids, strict=True)
    ]
    first = replies[0]
    answer = ImagesResponse(
        created=int(time.time()),
        data=data,
        size=f"{first.width}x{first.height}",
        output_format=image_format(first),
        quality=options.quality or "auto",
        background="opaque",
    )
    # Unset fields stay absent (b64_json or url), revised_prompt is null, as OpenAI answers.
    return JSONResponse(answer.model_dump(mode="json", exclude_unset=True))


def model_list(listed: generator_pb2.ModelList) -> ModelList:
    """The library in OpenAI's list shape."""
    return ModelList(data=[Model(id=m.name, created=0, owned_by=OWNER) for m in listed.models])


# --- errors ---------------------------------------------------------------------------------------------------


def error_type(status: int) -> str:
    """OpenAI's error type for a status."""
    if status >= 500:
        return "server_error"
    return "requests" if status == 429 else "invalid_request_error"


def error_body(status: int, code: ErrorCode, message: str, field: str | None) -> dict[str, Any]:
    """OpenAI's error object, as answers and stream `error` events carry it."""
    return {"error": {"message": message, "type": error_type(status), "param": field, "code": code.value}}


def should_retry(status: int, code: ErrorCode) -> bool:
    """Whether the SDK may send the request again (NO_RETRY_STATUSES, NO_RETRY_CODES say why not)."""
    return status not in NO_RETRY_STATUSES and code not in NO_RETRY_CODES


def openai_error(status: int, code: ErrorCode, message: str, field: str | None, headers: Mapping[str, str]) -> Response:
    """The one error table's answer in OpenAI's shape; an invalid value is OpenAI's 400 (the native 422)."""
    status = 400 if status == 422 else status
    answer_headers = dict(headers)
    if status >= 429 and not should_retry(status, code):
        answer_headers["x-should-retry"] = "false"
    return JSONResponse(error_body(status, code, message, field), status_code=status, headers=answer_headers)
