"""The native dialect's routes: /health, /ready, /generateimage (one image, or its SSE stream), /samplers, /metrics."""

import time
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from genproto import generator_pb2, limits, samplers
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder

from api.dependencies import Worker, require_json
from api.disconnect import cancel_on_disconnect
from api.gallery.recording import keep
from api.native.protocol import (
    STREAM_EVENTS,
    GenerateImageRequest,
    GenerateOneImageRequest,
    HealthResponse,
    LibraryLora,
    LibraryModel,
    ReadyResponse,
    SamplerInfo,
    SetDefaultModel,
)
from api.native.serving import image_headers, library_loras, library_models, ready_response, to_proto
from api.native.stream import open_stream
from api.openapi_docs import component_ref, error_responses
from api.problems import ErrorResponse
from api.rate_limit import enforce_rate_limit

router = APIRouter()

# The values the worker used, as headers; the browser reads them through CORS expose_headers.
IMAGE_HEADERS: Final[dict[str, str]] = {
    "X-Seed": "The seed used (the requested one or the worker's random choice).",
    "X-Width": "Width in pixels.",
    "X-Height": "Height in pixels.",
    "X-Steps": "Denoising steps.",
    "X-Guidance-Scale": "Guidance scale.",
    "X-Model": "The loaded model's name (percent-encoded beyond ASCII).",
    "X-Demo-Model": "true when the built-in demo model (models/demo-shapes) made the image.",
    "X-Generation-Seconds": "Seconds the pipeline ran (queue wait and encoding excluded).",
    "X-Sampler": "The sampler that ran (A1111's name; the model's own when the request named none).",
    "X-Schedule-Type": "The schedule type that ran (what Automatic resolved to).",
    "X-Denoising-Strength": "Image to image only: the denoising strength used.",
    "X-Mask-Blur": "Image to image only: the mask blur used (0 without a mask).",
    "X-Image-Id": "Its id in the gallery (GET /images/{id}); absent when not kept (API_GALLERY=false, save: false).",
    "X-Worker": "Which worker made the image (its WORKER_ID, by default host:port; percent-encoded beyond ASCII).",
}
# Clients may read these beyond the CORS-safelisted ones.
EXPOSED_HEADERS: Final = [*IMAGE_HEADERS, "Content-Disposition", "Retry-After"]

# The stream's events, one schema each: OpenAPI 3.1 reads a text/event-stream schema as that of each event.
STREAM_SCHEMA: Final[dict[str, Any]] = {
    "oneOf": [
        {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"const": name},
                "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": component_ref(m)},
            },
        }
        for name, m in STREAM_EVENTS.items()
    ]
}
STREAM_DESCRIPTION: Final = """Events, each `event: <name>` with a JSON `data:` line (the Stream* schemas):
`queued` (again whenever the position changes), `started`, `progress` after every step, then `done` or `error`.
A request refused before it starts (422, 429, 503, ...) gets the plain JSON error instead of a stream."""
# The routes whose bodies may carry an init image and a mask (API_MAX_IMAGE_BODY_BYTES), and those fields.
IMAGE_FIELDS: Final = frozenset({"initImage", "mask"})
IMAGE_ROUTES: Final = {"/generateimage": IMAGE_FIELDS, "/generateimage/stream": IMAGE_FIELDS}
GENERATE_ERRORS: Final = error_responses(400, 401, 413, 415, 422, 429, 500, 503, 504)


@router.get("/health", response_model=HealthResponse, summary="Liveness of the gateway")
async def health() -> HealthResponse:
    """The gateway answers; says nothing about the worker (see /ready)."""
    return HealthResponse(status=200, timestamp=int(time.time()))


@router.get(
    "/ready",
    response_model=ReadyResponse,
    summary="Readiness of the workers",
    responses={503: {"model": ErrorResponse, "description": "worker_not_ready or worker_unavailable"}},
)
async def ready(worker: Worker, request: Request) -> ReadyResponse:
    """200 when at least one worker reports SERVING; 503 while none does (loading, draining or down)."""
    return ready_response(await worker.check_workers(), gallery=request.app.state.gallery is not None)


@router.post(
    "/generateimage",
    summary="Generate one image",
    response_class=Response,
    dependencies=[Depends(enforce_rate_limit), Depends(require_json)],
    responses={
        200: {
            "content": {f"image/{f}": {"schema": {"type": "string", "format": "binary"}} for f in limits.FORMATS},
            "description": "The image's bytes in the requested `format` (PNG unless asked); the values used are "
            "in the X-* headers.",
            "headers": {
                name: {"description": text, "schema": {"type": "string"}} for name, text in IMAGE_HEADERS.items()
            },
        },
        **GENERATE_ERRORS,
    },
)
async def generate_image(body: GenerateOneImageRequest, request: Request, worker: Worker) -> Response:
    """Runs one generation on the worker and answers the image; unset values are the worker's defaults."""
    started = time.perf_counter()
    reply = await cancel_on_disconnect(request, worker.generate(to_proto(body)))
    if reply is None:
        # Nobody reads this; 499 (nginx's "client closed request") makes the access log say what happened.
        return Response(status_code=499)
    headers = image_headers(reply)
    # docs/architecture.md, section "Files before rows": the image is kept before its id is answered.
    (image_id,) = await keep(request, body, [reply], started)
    if image_id is not None:
        headers["X-Image-Id"] = image_id
    return Response(content=reply.image, media_type=reply.mime_type or "image/png", headers=headers)


@router.post(
    "/generateimage/stream",
    summary="Generate one image, with live progress (Server-Sent Events)",
    response_class=Response,
    dependencies=[Depends(enforce_rate_limit), Depends(require_json)],
    responses={
        200: {"content": {"text/event-stream": {"schema": STREAM_SCHEMA}}, "description": STREAM_DESCRIPTION},
        **GENERATE_ERRORS,
    },
)
async def generate_image_stream(body: GenerateImageRequest, request: Request, worker: Worker) -> Response:
    """The same generation as /generateimage, reported as it goes; closing the connection cancels it."""
    started = time.perf_counter()
    return await open_stream(worker, body, lambda replies: keep(request, body, replies, started))


@router.get("/samplers", response_model=list[SamplerInfo], summary="The samplers a request may name")
async def list_samplers() -> list[SamplerInfo]:
    """Every sampler by A1111's name, as /sdapi/v1/samplers lists them, with the schedule types each takes."""
    return [
        SamplerInfo(
            name=s.name,
            # The legacy "<name> Karras" names are accepted too.
            aliases=[*s.aliases, *([f"{s.name} Karras"] if samplers.KARRAS in s.schedule_types else [])],
            options=s.options,
            scheduleTypes=list(s.schedule_types),
        )
        for s in samplers.SAMPLERS
    ]


@router.get(
    "/models",
    response_model=list[LibraryModel],
    summary="The model library",
    responses=error_responses(401, 500, 503),
)
async def list_models(worker: Worker) -> list[LibraryModel]:
    """Every model a request may name (`model`): the library's checkpoints and folders, and the demo model."""
    return library_models(await worker.list_models())


@router.get(
    "/loras",
    response_model=list[LibraryLora],
    summary="The LoRAs of the model library",
    responses=error_responses(401, 500, 503),
)
async def list_loras(worker: Worker) -> list[LibraryLora]:
    """Every LoRA a request may name (`loras`, or a `<lora:name:weight>` tag in the prompt)."""
    return library_loras(await worker.list_loras())


@router.post(
    "/models/refresh",
    response_model=list[LibraryModel],
    summary="Scan the model library again",
    responses=error_responses(401, 500, 503),
)
async def refresh_models(worker: Worker) -> list[LibraryModel]:
    """Every worker scans its library again (models and LoRAs added or removed); the new model list."""
    request = generator_pb2.ListModelsRequest()
    return library_models(await worker.on_every_worker(lambda stub: stub.RefreshModels(request, timeout=60)))


@router.put(
    "/models/default",
    response_model=list[LibraryModel],
    summary="Choose the default model",
    dependencies=[Depends(require_json)],
    responses=error_responses(400, 401, 415, 422, 500, 503),
)
async def set_default_model(body: SetDefaultModel, worker: Worker) -> list[LibraryModel]:
    """The model requests without `model` get, on every worker behind the gateway."""
    request = generator_pb2.SetDefaultModelRequest(name=body.name)
    return library_models(await worker.on_every_worker(lambda stub: stub.SetDefaultModel(request, timeout=10)))


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text format: requests by route and status, latency, worker errors, "
            "rate-limited requests, auth failures.",
        },
        **error_responses(401),
    },
)
def metrics(request: Request) -> Response:
    """The process's metrics (prometheus-client's registry), in the format the scraper asks for."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(content=encode(REGISTRY), media_type=content_type)
