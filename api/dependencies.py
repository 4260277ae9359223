"""What every surface's routes depend on: the one worker client, and the JSON body check."""

import email.message
from typing import Annotated

from fastapi import Depends, Request

from api.errors import ApiError
from api.problems import ErrorCode
from api.worker_client import WorkerClient


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
