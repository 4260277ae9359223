"""The native dialect's translation: its request into the worker's, the worker's answers into its headers and events."""

import base64
import re
from urllib.parse import quote

import grpc
from genproto import generator_pb2
from sse_starlette import ServerSentEvent

from api.errors import ApiError
from api.native.protocol import (
    GATEWAY_FIELDS,
    Defaults,
    GenerateImageRequest,
    LibraryLora,
    LibraryModel,
    LoraWeight,
    Queue,
    ReadyResponse,
    StreamDone,
    StreamEvent,
    StreamImage,
    StreamProgress,
    StreamQueued,
    StreamStarted,
    Workers,
)
from api.problems import ErrorCode
from api.worker_client import WorkerHealth, WorkerUnreachable

# Header values are latin-1 on the wire; a model file name or a WORKER_ID may not be.
_HEADER_SAFE = " !#$&'()*+,-./:;=?@[]^_`{|}~"


def to_proto(request: GenerateImageRequest) -> generator_pb2.GenerateImageRequest:
    """The wire request; optional fields are set only when the client gave them (unset is not 0)."""
    # The model's field names are the proto's, so exclude_none leaves unset fields absent on the wire.
    return generator_pb2.GenerateImageRequest(**request.model_dump(exclude_none=True, exclude=set(GATEWAY_FIELDS)))


def image_headers(reply: generator_pb2.GenerateImageResponse) -> dict[str, str]:
    """Content-Disposition and the X-* headers with the values the worker used, and which worker it was."""
    headers = {
        "Content-Disposition": f"inline; filename={safe_filename(reply.filename_hint)}",
        "X-Seed": str(reply.seed),
        "X-Width": str(reply.width),
        "X-Height": str(reply.height),
        "X-Steps": str(reply.steps),
        "X-Guidance-Scale": f"{reply.guidance_scale:g}",
        "X-Model": quote(reply.model_name, safe=_HEADER_SAFE),
        "X-Demo-Model": "true" if reply.demo_model else "false",
        "X-Generation-Seconds": f"{reply.generation_seconds:.3f}",
        "X-Sampler": reply.sampler,
        "X-Schedule-Type": reply.schedule_type,
    }
    if reply.denoising_strength:  # image to image
        headers["X-Denoising-Strength"] = f"{reply.denoising_strength:g}"
        headers["X-Mask-Blur"] = str(reply.mask_blur)
    # An older worker leaves worker_id empty; no header beats an empty one.
    if reply.worker_id:
        headers["X-Worker"] = quote(reply.worker_id, safe=_HEADER_SAFE)
    return headers


def safe_filename(hint: str) -> str:
    """The worker's file name hint as header-token characters, so it needs no quoting and cannot break the header."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", hint).strip("._")
    return name or "image.png"


def ready_response(workers: list[WorkerHealth], gallery: bool) -> ReadyResponse:
    """/ready's answer, or the 503 that says why no worker serves (loading, draining or down)."""
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
        description=info.description,
        device=info.device,
        dtype=info.dtype,
        defaults=Defaults(
            width=info.default_width,
            height=info.default_height,
            steps=info.default_steps,
            guidanceScale=info.default_guidance_scale,
            sampler=info.default_sampler or "Default",
        ),
        # A request goes to any serving worker, so the least they all allow (an older worker: one image).
        maxCount=min(i.max_count or 1 for i in serving),
        queue=Queue(length=sum(i.queue_length for i in serving), capacity=sum(i.queue_capacity for i in serving)),
        workers=Workers(serving=len(serving), total=len(workers)),
        gallery=gallery,
    )


def _data_url(mime_type: str, data: bytes) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def sse_event(name: str, data: StreamEvent) -> ServerSentEvent:
    """One SSE event with its data as a compact JSON line (wire names; absent rather than null)."""
    return ServerSentEvent(event=name, data=data.model_dump_json(by_alias=True, exclude_none=True))


def event_to_sse(event: generator_pb2.GenerateImageEvent) -> ServerSentEvent:
    """A queued, started or progress event in the documented SSE shape (api.native.protocol's Stream* models)."""
    kind = event.WhichOneof("event")
    if kind == "queued":
        return sse_event("queued", StreamQueued(position=event.queued.position, queue_length=event.queued.queue_length))
    if kind == "started":
        s = event.started
        started = StreamStarted(
            seed=s.seed,
            width=s.width,
            height=s.height,
            steps=s.steps,
            guidance_scale=s.guidance_scale,
            queued_seconds=round(s.queued_seconds, 3),
            sampler=s.sampler,
            schedule_type=s.schedule_type,
            count=s.count or 1,
        )
        return sse_event("started", started)
    if kind == "progress":
        p = event.progress
        progress = StreamProgress(
            step=p.step,
            steps=p.total_steps,
            eta_seconds=round(p.seconds_per_step * (p.total_steps - p.step), 2),
            preview=_data_url(p.preview_mime_type, p.preview) if p.preview else None,
            image_index=p.image_index,
            image_count=p.image_count or 1,
        )
        return sse_event("progress", progress)
    raise ValueError(f"not a progress event: {kind}")  # results are gathered by done_event


def done_event(results: list[generator_pb2.GenerateImageResponse], image_ids: list[str | None]) -> ServerSentEvent:
    """The `done` event for all of a request's images: the first's values, and every image with its seed and id."""
    r = results[0]
    done = StreamDone(
        image=_data_url(r.mime_type or "image/png", r.image),
        seed=r.seed,
        width=r.width,
        height=r.height,
        steps=r.steps,
        guidance_scale=r.guidance_scale,
        model=r.model_name,
        demo_model=r.demo_model,
        generation_seconds=round(sum(each.generation_seconds for each in results), 3),
        filename=safe_filename(r.filename_hint),
        worker=r.worker_id,
        sampler=r.sampler,
        schedule_type=r.schedule_type,
        infotext=r.infotext,
        loras=[LoraWeight(name=lora.name, weight=lora.weight) for lora in r.loras],
        denoising_strength=r.denoising_strength or None,
        mask_blur=r.mask_blur if r.denoising_strength else None,
        images=[
            StreamImage(image=_data_url(each.mime_type or "image/png", each.image), seed=each.seed, image_id=image_id)
            for each, image_id in zip(results, image_ids, strict=True)
        ],
        image_id=image_ids[0],
    )
    return sse_event("done", done)


def library_models(listed: generator_pb2.ModelList) -> list[LibraryModel]:
    """GET /models' answer from a worker's ModelList."""
    return [
        LibraryModel(
            name=m.name,
            title=m.title,
            hash=m.hash or None,
            kind=m.kind if m.kind in ("file", "folder", "demo") else "file",
            loaded=m.loaded,
            default=m.is_default,
            demo=m.demo,
        )
        for m in listed.models
    ]


def library_loras(listed: generator_pb2.LoraList) -> list[LibraryLora]:
    """GET /loras' answer from a worker's LoraList."""
    return [LibraryLora(name=x.name, alias=x.alias, hash=x.hash or None, path=x.path) for x in listed.loras]
