"""OpenAI's Images API at /v1: generations, edits and the model list, over the native serving path."""

import asyncio
import time
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, File, Path, Request
from fastapi.responses import Response
from genproto import limits

from api.dependencies import Worker, require_json
from api.disconnect import cancel_on_disconnect
from api.errors import ApiError, register_error_shape
from api.gallery.recording import keep
from api.native.protocol import GenerateImageRequest
from api.native.serving import to_proto
from api.openai import stream
from api.openai.protocol import (
    CompletedEvent,
    ImageEditForm,
    ImageGenerationRequest,
    ImageOptions,
    ImagesResponse,
    Model,
    ModelList,
    OpenAIErrorResponse,
    PartialImageEvent,
)
from api.openai.serving import (
    check_count,
    check_model,
    check_response_format,
    images_response,
    model_list,
    native_request,
    one_image,
    openai_error,
    repaint_mask,
)
from api.openapi_docs import component_ref
from api.problems import ErrorCode
from api.rate_limit import enforce_rate_limit

router = APIRouter(prefix="/v1", tags=["openai"])
# docs/architecture.md, section "One error path": the one table, answered in OpenAI's shape on every /v1 path.
register_error_shape("/v1/", openai_error)
# The routes whose bodies may carry images → the multipart names that carry them (API_MAX_IMAGE_BODY_BYTES).
IMAGE_ROUTES: Final[dict[str, frozenset[str]]] = {"/v1/images/edits": frozenset({"image", "image[]", "mask"})}

_ERROR_TEXT: Final[dict[int, str]] = {
    400: "invalid_value (param names the field), malformed_json, or an unknown field.",
    401: "unauthorized: API keys are on and the request has no valid `Authorization: Bearer <key>`.",
    404: "not_found: no such model in the library (param model), or response_format url with the gallery off.",
    413: "payload_too_large: the body is over API_MAX_BODY_BYTES (API_MAX_IMAGE_BODY_BYTES with an image).",
    415: "unsupported_media_type: the body is not declared application/json (generations).",
    429: "queue_full or rate_limited; `Retry-After` says when (the SDK retries).",
    500: "internal_error (`x-should-retry: false`).",
    503: "worker_unavailable (the SDK retries), or out_of_memory (`x-should-retry: false`).",
    504: "deadline_exceeded (`x-should-retry: false`).",
}
# The stream's events by hand (a text/event-stream schema), so the app lists them in components (api/app.py).
STREAM_COMPONENTS: Final = (PartialImageEvent, CompletedEvent)
_STREAM: Final = {"text/event-stream": {"schema": {"oneOf": [component_ref(event) for event in STREAM_COMPONENTS]}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A /v1 route's error answers, each OpenAI's error body."""
    return {status: {"model": OpenAIErrorResponse, "description": _ERROR_TEXT[status]} for status in statuses}


GENERATE_ERRORS: Final = error_responses(400, 401, 404, 413, 415, 429, 500, 503, 504)
STREAM_DESCRIPTION: Final = (
    "The images, or with stream: true Server-Sent Events: `<kind>.partial_image` (partial_images of them per "
    "image) and one `<kind>.completed` per image, kind image_generation or image_edit; an `error` event on failure."
)


async def answer(
    request: Request, worker: Worker, options: ImageOptions, body: GenerateImageRequest, prefix: str
) -> Response:
    """Run the native request and answer in OpenAI's shape: the images, or their stream."""
    started = time.perf_counter()
    check_response_format(options, request.app.state.gallery is not None)
    await check_model(worker, body.model)
    await check_count(worker, body.count)

    def keep_images(replies: list[Any]) -> Any:
        return keep(request, body, replies, started, user=options.end_user)

    proto = to_proto(body)
    if options.stream:
        return await stream.open_stream(worker, proto, options, prefix, keep_images)
    replies = await cancel_on_disconnect(request, stream.gather(worker, proto))
    if replies is None:
        return Response(status_code=499)  # the client left; nobody reads this (as the native routes)
    return images_response(request, options, replies, await keep_images(replies))


@router.post(
    "/images/generations",
    summary="Create images (OpenAI's Images API)",
    response_model=ImagesResponse,
    dependencies=[Depends(enforce_rate_limit), Depends(require_json)],
    responses={200: {"content": _STREAM, "description": STREAM_DESCRIPTION}, **GENERATE_ERRORS},
)
async def create_images(body: ImageGenerationRequest, request: Request, worker: Worker) -> Response:
    """Text to image, as `client.images.generate(...)` asks; native extras come in extra_body."""
    return await answer(request, worker, body, native_request(body, loras=body.loras), stream.GENERATION)


@router.post(
    "/images/edits",
    summary="Edit an image (OpenAI's Images API)",
    response_model=ImagesResponse,
    dependencies=[Depends(enforce_rate_limit)],
    responses={200: {"content": _STREAM, "description": STREAM_DESCRIPTION}, **GENERATE_ERRORS},
)
async def edit_image(form: Annotated[ImageEditForm, File()], request: Request, worker: Worker) -> Response:
    """Image to image, or inpainting with a mask, as `client.images.edit(...)` asks."""
    init_image = one_image([await file.read() for file in [*form.image, *form.images]])
    mask = await asyncio.to_thread(repaint_mask, await form.mask.read()) if form.mask is not None else None
    body = native_request(
        form, init_image=init_image, mask=mask, denoising_strength=form.denoising_strength, mask_blur=form.mask_blur
    )
    return await answer(request, worker, form, body, stream.EDIT)


@router.get("/models", response_model=ModelList, summary="The model library", responses=error_responses(401, 500, 503))
async def list_models(worker: Worker) -> ModelList:
    """Every model a request may name as `model`, in OpenAI's list shape."""
    return model_list(await worker.list_models())


@router.get(
    "/models/{model:path}",
    response_model=Model,
    summary="One model of the library",
    responses=error_responses(401, 404, 500, 503),
)
async def get_model(
    model: Annotated[str, Path(description="A name of GET /v1/models.")],
    worker: Worker,
) -> Model:
    """The model by its name, as `client.models.retrieve(name)` asks."""
    for listed in model_list(await worker.list_models()).data:
        if listed.id == model:
            return listed
    raise ApiError(404, ErrorCode.NOT_FOUND, f"{limits.not_listed('model', model, 'GET /v1/models')}", field="model")
