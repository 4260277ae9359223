"""The HTTP endpoints: /health, /ready (the workers), /generateimage (one PNG, or its SSE stream), /metrics."""

import asyncio
import email.message
import logging
import time
from collections.abc import Awaitable
from typing import Annotated, Any, Final, TypeVar

import grpc
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder

from api.errors import ApiError
from api.rate_limit import enforce_rate_limit
from api.replies import image_headers
from api.schemas import (
    Defaults,
    ErrorCode,
    ErrorResponse,
    GenerateImageRequest,
    HealthResponse,
    Queue,
    ReadyResponse,
    Workers,
)
from api.streaming import open_stream
from api.worker_client import WorkerClient, WorkerUnreachable

log = logging.getLogger(__name__)
router = APIRouter()
T = TypeVar("T")

# The values the worker used, as headers; the browser reads them through CORS expose_headers.
IMAGE_HEADERS: Final[dict[str, str]] = {
    "X-Seed": "The seed used (the requested one or the worker's random choice).",
    "X-Width": "Width in pixels.",
    "X-Height": "Height in pixels.",
    "X-Steps": "Denoising steps.",
    "X-Guidance-Scale": "Guidance scale.",
    "X-Model": "The loaded model's name (percent-encoded beyond ASCII).",
    "X-Demo-Model": "true when the built-in demo model made the image (its images are noise).",
    "X-Generation-Seconds": "Seconds the pipeline ran (queue wait and encoding excluded).",
    "X-Worker": "Which worker made the image (its WORKER_ID, by default host:port; percent-encoded beyond ASCII).",
}
# Clients may read these beyond the CORS-safelisted ones.
EXPOSED_HEADERS: Final = [*IMAGE_HEADERS, "Content-Disposition", "Retry-After"]


STREAM_DESCRIPTION: Final = """Events, each `event: <name>` with a JSON `data:` line:
`queued` {position, queueLength} (again whenever the position changes);
`started` {seed, width, height, steps, guidanceScale, queuedSeconds};
`progress` {step, steps, etaSeconds, preview?} after every step, `preview` a small JPEG data URL every few steps;
`done` {image (PNG data URL), seed, width, height, steps, guidanceScale, model, demoModel, generationSeconds,
filename, worker} last on success (`worker`: which worker made it, as in `X-Worker`);
`error` {error, message} last on failure (the codes of /generateimage).
A request refused before it starts (422, 429, 503, ...) gets the plain JSON error instead of a stream."""


ERROR_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "malformed_json: the body is not valid JSON (or not text).",
    401: "unauthorized: API keys are on and the request has no valid `Authorization: Bearer <key>`.",
    413: "payload_too_large: the body is over API_MAX_BODY_BYTES.",
    415: "unsupported_media_type: the body is not declared application/json.",
    422: "invalid_value: a value breaks a limit, or an unknown field.",
    429: "queue_full (the worker's queue) or rate_limited (API_RATE_LIMIT_PER_MINUTE); `Retry-After` says when.",
    500: "internal_error: anything else; the gateway's log has the details.",
    503: "worker_unavailable, worker_not_ready or out_of_memory.",
    504: "deadline_exceeded: no image within API_GENERATE_TIMEOUT_SECONDS.",
}


SSE_EVENT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["queued", "started", "progress", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json", "description": "A JSON object."},
    },
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route, for the OpenAPI schema: each is an ErrorResponse."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        documented[status] = {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]}
        if status == 429:
            seconds = {"description": "Seconds until a retry may succeed.", "schema": {"type": "string"}}
            documented[status]["headers"] = {"Retry-After": seconds}
    return documented


def get_worker(request: Request) -> WorkerClient:
    """The worker client the lifespan opened."""
    worker: WorkerClient = request.app.state.worker
    return worker


Worker = Annotated[WorkerClient, Depends(get_worker)]


def require_json(request: Request) -> None:
    """415 unless the body is declared JSON (application/json or application/*+json)."""
    declared = request.headers.get("content-type", "")
    parsed = email.message.Message()
    parsed["content-type"] = declared
    subtype = parsed.get_content_subtype()
    if parsed.get_content_maintype() != "application" or not (subtype == "json" or subtype.endswith("+json")):
        got = declared or "no Content-Type"
        raise ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be application/json (got {got})")


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
async def ready(worker: Worker) -> ReadyResponse:
    """200 when at least one worker reports SERVING; 503 while none does (loading, draining or down)."""
    workers = await worker.check_workers()
    serving = [w.info for w in workers if w.info is not None]
    if not serving:
        failed = [w for w in workers if w.error is not None]
        if len(failed) == len(workers):
            first = failed[0] if failed else None
            code = first.error if first and first.error else grpc.StatusCode.UNAVAILABLE
            raise WorkerUnreachable(code, first.details if first else "no address", workers=len(workers))
        if len(workers) == 1:
            message = "the image worker is not ready yet (loading, warming up or draining); retry in a few seconds"
        else:
            message = (
                f"none of the {len(workers)} image workers is ready yet (loading, warming up or draining); "
                "retry in a few seconds"
            )
        raise ApiError(503, ErrorCode.WORKER_NOT_READY, message)
    # Workers behind one gateway run the same model (one .env, one image); the first serving one describes it.
    info = serving[0]
    return ReadyResponse(
        model=info.model_name,
        demoModel=info.demo_model,
        device=info.device,
        dtype=info.dtype,
        defaults=Defaults(
            width=info.default_width,
            height=info.default_height,
            steps=info.default_steps,
            guidanceScale=info.default_guidance_scale,
        ),
        queue=Queue(length=sum(i.queue_length for i in serving), capacity=sum(i.queue_capacity for i in serving)),
        workers=Workers(serving=len(serving), total=len(workers)),
    )


@router.post(
    "/generateimage",
    summary="Generate one image",
    response_class=Response,
    dependencies=[Depends(enforce_rate_limit), Depends(require_json)],
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The PNG bytes; the values used are in the X-* headers.",
            "headers": {
                name: {"description": text, "schema": {"type": "string"}} for name, text in IMAGE_HEADERS.items()
            },
        },
        **_errors(400, 401, 413, 415, 422, 429, 500, 503, 504),
    },
)
async def generate_image(body: GenerateImageRequest, request: Request, worker: Worker) -> Response:
    """Runs one generation on the worker and answers the image; unset values are the worker's defaults."""
    reply = await cancel_on_disconnect(request, worker.generate(body))
    if reply is None:
        # Nobody reads this; 499 (nginx's "client closed request") makes the access log say what happened.
        return Response(status_code=499)
    return Response(content=reply.image, media_type=reply.mime_type or "image/png", headers=image_headers(reply))


@router.post(
    "/generateimage/stream",
    summary="Generate one image, with live progress (Server-Sent Events)",
    response_class=Response,
    dependencies=[Depends(enforce_rate_limit), Depends(require_json)],
    responses={
        200: {
            # OpenAPI 3.1 reads a text/event-stream schema as the schema of each event.
            "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
            "description": STREAM_DESCRIPTION,
        },
        **_errors(400, 401, 413, 415, 422, 429, 500, 503, 504),
    },
)
async def generate_image_stream(body: GenerateImageRequest, worker: Worker) -> Response:
    """The same generation as /generateimage, reported as it goes; closing the connection cancels it."""
    return await open_stream(worker, body)


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
        **_errors(401),
    },
)
def metrics(request: Request) -> Response:
    """The process's metrics (prometheus-client's registry), in the format the scraper asks for."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(content=encode(REGISTRY), media_type=content_type)


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T | None:
    """Awaits work, or cancels it and answers None when the HTTP client goes away first.

    Cancelling the gRPC call cancels the RPC, so the worker stops that generation at its next step
    instead of spending the GPU on an image nobody will read (as vLLM's with_cancellation does).
    """
    work_task = asyncio.ensure_future(work)
    watch_task = asyncio.ensure_future(_until_disconnect(request))
    try:
        await asyncio.wait({work_task, watch_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch_task.cancel()
        if not work_task.done():  # the client left, or this handler itself was cancelled
            work_task.cancel()
            await asyncio.wait({work_task})
    if work_task.cancelled():
        log.info("client went away; cancelled its generation")
        return None
    return work_task.result()


async def _until_disconnect(request: Request) -> None:
    # The body is already read, so the next message is http.disconnect (or the response completing).
    while (await request.receive())["type"] != "http.disconnect":
        pass
