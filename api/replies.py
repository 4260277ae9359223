"""How worker replies reach HTTP clients: the PNG answer's headers, and the SSE events of a stream."""

import base64
import json
import re
from typing import Any
from urllib.parse import quote

from genproto import generator_pb2
from sse_starlette import ServerSentEvent

# Header values are latin-1 on the wire; a model file name or a WORKER_ID may not be.
_HEADER_SAFE = " !#$&'()*+,-./:;=?@[]^_`{|}~"


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
    }
    # An older worker leaves worker_id empty; no header beats an empty one.
    if reply.worker_id:
        headers["X-Worker"] = quote(reply.worker_id, safe=_HEADER_SAFE)
    return headers


def safe_filename(hint: str) -> str:
    # Token characters only, so the header needs no quoting and cannot be broken by the worker's hint.
    name = re.sub(r"[^A-Za-z0-9._-]", "_", hint).strip("._")
    return name or "image.png"


def _data_url(mime_type: str, data: bytes) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def sse_event(name: str, data: dict[str, Any]) -> ServerSentEvent:
    """One SSE event with a compact JSON data line."""
    return ServerSentEvent(event=name, data=json.dumps(data, separators=(",", ":")))


def event_to_sse(event: generator_pb2.GenerateImageEvent) -> ServerSentEvent:
    """One worker event in the documented SSE shape."""
    kind = event.WhichOneof("event")
    if kind == "queued":
        return sse_event("queued", {"position": event.queued.position, "queueLength": event.queued.queue_length})
    if kind == "started":
        s = event.started
        return sse_event(
            "started",
            {
                "seed": s.seed,
                "width": s.width,
                "height": s.height,
                "steps": s.steps,
                "guidanceScale": s.guidance_scale,
                "queuedSeconds": round(s.queued_seconds, 3),
            },
        )
    if kind == "progress":
        p = event.progress
        data: dict[str, Any] = {
            "step": p.step,
            "steps": p.total_steps,
            "etaSeconds": round(p.seconds_per_step * (p.total_steps - p.step), 2),
        }
        if p.preview:
            data["preview"] = _data_url(p.preview_mime_type, p.preview)
        return sse_event("progress", data)
    r = event.result
    return sse_event(
        "done",
        {
            "image": _data_url(r.mime_type or "image/png", r.image),
            "seed": r.seed,
            "width": r.width,
            "height": r.height,
            "steps": r.steps,
            "guidanceScale": r.guidance_scale,
            "model": r.model_name,
            "demoModel": r.demo_model,
            "generationSeconds": round(r.generation_seconds, 3),
            "filename": safe_filename(r.filename_hint),
            "worker": r.worker_id,
        },
    )
