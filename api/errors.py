"""The one place that turns failures into `{"error", "message"}` answers: validation, HTTP and gRPC."""

import difflib
import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from genproto import limits, reasons
from genproto.reasons import Reason
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.observability import WORKER_ERRORS
from api.problems import ErrorCode
from api.worker_client import WorkerClient, WorkerUnreachable

log = logging.getLogger(__name__)

# docs/architecture.md, section "One error path": the worker's reason → HTTP status and error code. The one
# table; no message is parsed (queue full and out of memory share RESOURCE_EXHAUSTED, their reasons differ).
REASON_TO_HTTP: Final[Mapping[Reason, tuple[int, ErrorCode]]] = {
    Reason.INVALID_VALUE: (422, ErrorCode.INVALID_VALUE),
    Reason.QUEUE_FULL: (429, ErrorCode.QUEUE_FULL),
    # 503, not 429: the client did not send too much, the worker lacks memory for this size.
    Reason.OUT_OF_MEMORY: (503, ErrorCode.OUT_OF_MEMORY),
    Reason.NOT_READY: (503, ErrorCode.WORKER_UNAVAILABLE),
    Reason.DRAINING: (503, ErrorCode.WORKER_UNAVAILABLE),
    # The gateway cancels only when its own client left (nobody reads the answer), so a CANCELLED that
    # arrives came from the worker, e.g. a shutdown: retryable, like UNAVAILABLE.
    Reason.CANCELLED: (503, ErrorCode.WORKER_UNAVAILABLE),
    Reason.DEADLINE_EXCEEDED: (504, ErrorCode.DEADLINE_EXCEEDED),
    Reason.INTERNAL: (500, ErrorCode.INTERNAL_ERROR),
}
# A peer that sends no reason (gRPC's own transport errors, a worker older than reasons): by status alone.
GRPC_TO_REASON: Final[Mapping[grpc.StatusCode, Reason]] = {
    grpc.StatusCode.INVALID_ARGUMENT: Reason.INVALID_VALUE,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Reason.QUEUE_FULL,
    grpc.StatusCode.UNAVAILABLE: Reason.NOT_READY,
    grpc.StatusCode.CANCELLED: Reason.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED: Reason.DEADLINE_EXCEEDED,
}
# Reasons whose worker message is written for clients (worker/errors.py): the field and value, the refused
# queue position, the size that did not fit. Other details stay in the gateway's log.
_CLIENT_MESSAGES: Final = frozenset({Reason.INVALID_VALUE, Reason.QUEUE_FULL, Reason.OUT_OF_MEMORY})

# Statuses the framework raises itself (router, body parsing) and the codes they answer.
HTTP_STATUS_CODES: Final[Mapping[int, ErrorCode]] = {
    400: ErrorCode.MALFORMED_JSON,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


class ApiError(Exception):
    """An error answer raised by the gateway's own code; the handler renders it."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        headers: Mapping[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.field = field


class ErrorShape(Protocol):
    """How a dialect words an error answer: the one table's status, code and message, in its own body."""

    def __call__(
        self, status: int, code: ErrorCode, message: str, field: str | None, headers: Mapping[str, str]
    ) -> Response: ...


# Path prefix → the dialect whose clients read errors in another shape (OpenAI's /v1, A1111's /sdapi/v1).
# Each dialect's routes module registers its own; every other path answers the native {"error", "message"}.
_SHAPES: Final[dict[str, ErrorShape]] = {}


def register_error_shape(prefix: str, shape: ErrorShape) -> None:
    """Errors on paths under `prefix` are answered by `shape` (docs/architecture.md, "Where a new thing goes")."""
    _SHAPES[prefix] = shape


def error_response(
    status: int,
    code: ErrorCode,
    message: str,
    headers: Mapping[str, str] | None = None,
    *,
    path: str = "",
    field: str | None = None,
) -> Response:
    """The error answer for `path`: its dialect's shape, else the native JSON body every error has.

    `field` names the request field at fault where one is (OpenAI's `param`).
    """
    for prefix, shape in _SHAPES.items():
        if path.startswith(prefix):
            return shape(status, code, message, field, headers or {})
    return JSONResponse({"error": code.value, "message": message}, status_code=status, headers=headers)


# --- request validation -------------------------------------------------------------------------------

_TYPE_NAMES: Final[Mapping[str, str]] = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "finite_number": "a finite number",
}
# pydantic's bound errors → the words limits uses for them, so the api and the worker refuse alike.
_BOUNDS: Final[Mapping[str, Callable[[str, float, str], str]]] = {
    "greater_than_equal": limits.below,
    "less_than_equal": limits.above,
}


def body_fields(request: Request) -> list[str]:
    """The JSON names of the route's body model (each surface has its own), for "did you mean"."""
    body = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(body, "field_info", None), "annotation", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _shown(value: Any) -> str:
    """A value as the client wrote it (JSON), cut short so a huge input does not flood the message."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def _parts(error: Mapping[str, Any]) -> Sequence[Any]:
    """The error's location within the body (without FastAPI's leading "body")."""
    loc: Sequence[Any] = error.get("loc", ())
    return loc[1:] if loc and loc[0] in ("body", "query", "path") else loc


def field_name(error: Mapping[str, Any]) -> str | None:
    """The JSON name of the field a validation error is about (dotted when nested); None for the body itself."""
    parts = _parts(error)
    # A key may be the empty string ({"": 1}); "" names it where nothing would be unreadable.
    return (".".join(str(part) for part in parts) or '""') if parts else None


def describe(error: Mapping[str, Any], fields: Sequence[str] = ()) -> str:
    """One validation error as a sentence naming the field (its JSON name), the limit and the value.

    `fields` are the body's known fields, offered when an unknown one is sent.
    """
    kind: str = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value: Any = error.get("input")
    field = field_name(error)
    if field is None:  # the body itself, e.g. a JSON array instead of an object
        return f"the request body must be a JSON object (got {_json_kind(value)})"
    if kind == "missing":
        return f"{field} is required"
    if kind == "extra_forbidden":
        # Most unknown fields are typos of a known one ("postivePrompt").
        close = difflib.get_close_matches(field, fields, n=1)
        hint = f"did you mean {close[0]}?" if close else f"the fields are {', '.join(fields)}"
        return f"{field} is not a known field ({hint})"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return limits.blank(field)
    if kind == "string_too_long":
        return limits.too_long(field, ctx["max_length"], len(value))
    if kind == "multiple_of":
        return limits.not_multiple(field, int(ctx["multiple_of"]), _shown(value))
    if kind in _BOUNDS:
        return _BOUNDS[kind](field, next(iter(ctx.values())), _shown(value))
    if kind == "finite_number":
        return limits.not_finite(field, _shown(value))
    if kind == "refused":  # a check that words its own refusal (e.g. two fields that do not go together)
        return str(ctx["message"])
    if kind == "literal_error":
        return limits.not_one_of(field, ctx.get("expected", ""), _shown(value))
    if kind in _TYPE_NAMES:
        return f"{field} must be {_TYPE_NAMES[kind]} (got {_shown(value)})"
    return f"{field}: {error.get('msg', 'is invalid')} (got {_shown(value)})"


def _malformed_json_message(error: Mapping[str, Any], document: Any) -> str:
    """Where the JSON broke: line and column from the decoder's character position."""
    position = error["loc"][-1] if isinstance(error["loc"][-1], int) else None
    reason = (error.get("ctx") or {}).get("error", "invalid JSON")
    if position is None or not isinstance(document, str):
        return f"the request body is not valid JSON: {reason}"
    line = document.count("\n", 0, position) + 1
    column = position - (document.rfind("\n", 0, position) + 1) + 1
    return f"the request body is not valid JSON: {reason} at line {line}, column {column} (char {position})"


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    fields = body_fields(request)
    path = request.url.path
    for error in errors:
        if error["type"] == "json_invalid":
            return error_response(400, ErrorCode.MALFORMED_JSON, _malformed_json_message(error, exc.body), path=path)
        if error["type"] == "missing" and tuple(error.get("loc", ())) == ("body",):
            message = "the request body is empty: send a JSON object"
            return error_response(400, ErrorCode.MALFORMED_JSON, message, path=path)
    message = "; ".join(describe(e, fields) for e in errors)
    return error_response(422, ErrorCode.INVALID_VALUE, message, path=path, field=field_name(errors[0]))


# --- HTTP and the gateway's own errors ----------------------------------------------------------------


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers, path=request.url.path, field=exc.field)


def allowed_methods(request: Request) -> str:
    """Every method some route takes on this path (Starlette's own Allow names only the first route's)."""
    methods: set[str] = set()
    for route in _leaf_routes(request.app.router.routes):
        match, _ = route.matches({**request.scope, "method": ""})
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def _leaf_routes(routes: Sequence[Any]) -> Iterator[Any]:
    # FastAPI 0.165 wraps each include_router in a router of its own (original_router).
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaf_routes(inner.routes)
        else:
            yield route


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_STATUS_CODES.get(exc.status_code)
    if code is None:
        code = ErrorCode.INTERNAL_ERROR if exc.status_code >= 500 else ErrorCode.BAD_REQUEST
    if exc.status_code == 404:
        message = f"there is no {request.url.path}; see /docs for the endpoints"
    elif exc.status_code == 405:
        allowed = allowed_methods(request)
        headers = {**(exc.headers or {}), "Allow": allowed}
        message = f"{request.method} is not allowed on {request.url.path} (allowed: {allowed})"
        return error_response(exc.status_code, code, message, headers, path=request.url.path)
    elif exc.status_code == 400:
        # FastAPI's body parser raises this for bytes that are not text, e.g. invalid UTF-8.
        message = "the request body could not be read as JSON text (is it UTF-8?)"
    else:
        message = str(exc.detail)
    # Keep the framework's headers, e.g. Allow on a 405.
    return error_response(exc.status_code, code, message, exc.headers, path=request.url.path)


# --- gRPC ---------------------------------------------------------------------------------------------


def _worker(request: Request) -> WorkerClient:
    worker: WorkerClient = request.app.state.worker
    return worker


@dataclass(frozen=True)
class WorkerFailure:
    """A worker error as the client sees it: status, code, message, and seconds until a retry may succeed."""

    status: int
    code: ErrorCode
    message: str
    retry_after: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The HTTP headers of the answer: Retry-After where a retry later may succeed."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


def _trailing(error: grpc.aio.AioRpcError, key: str) -> str | None:
    for name, value in error.trailing_metadata() or ():
        if name == key:
            return str(value)
    return None


def _reason(error: grpc.aio.AioRpcError) -> Reason:
    sent = _trailing(error, reasons.METADATA_KEY)
    if sent is not None and sent in Reason._value2member_map_:
        return Reason(sent)
    return GRPC_TO_REASON.get(error.code(), Reason.INTERNAL)


def _retry_after(worker: WorkerClient, error: grpc.aio.AioRpcError) -> int:
    # The worker computes it from its queue length and measured seconds per job (worker/engine.py).
    sent = _trailing(error, reasons.RETRY_AFTER_KEY)
    if sent is not None and sent.isdigit():
        return int(sent)
    # An older worker sends none: one slot frees when the running generation ends.
    return max(1, math.ceil(worker.last_generation_seconds))


def describe_rpc_error(worker: WorkerClient, error: grpc.aio.AioRpcError) -> WorkerFailure:
    """The answer for a worker error, from its reason; worker details reach the client only where written for it."""
    code, details = error.code(), error.details() or ""
    WORKER_ERRORS.labels(code.name).inc()
    reason = _reason(error)
    status, error_code = REASON_TO_HTTP[reason]
    retry_after = _retry_after(worker, error) if reason == Reason.QUEUE_FULL else None
    if reason in _CLIENT_MESSAGES and details:
        message = details
    elif reason == Reason.QUEUE_FULL:
        message = "the worker's queue is full; retry later"
    elif status == 503:
        message = "the image worker is unavailable (loading, draining or down); retry in a few seconds"
    elif status == 504:
        message = f"the image was not ready within {worker.generate_timeout:g} s (API_GENERATE_TIMEOUT_SECONDS)"
    else:
        message = "the image worker failed; the gateway's log has the details"
    level = logging.ERROR if status == 500 else logging.WARNING
    log.log(level, "worker answered %s (%s): %s -> %d %s", code.name, reason.value, details, status, error_code.value)
    return WorkerFailure(status, error_code, message, retry_after)


async def _on_rpc_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, grpc.aio.AioRpcError)
    failure = describe_rpc_error(_worker(request), exc)
    return error_response(failure.status, failure.code, failure.message, failure.headers, path=request.url.path)


async def _on_worker_unreachable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WorkerUnreachable)
    if exc.message:
        message = exc.message
    elif exc.workers > 1:
        message = f"none of the {exc.workers} image workers can be reached ({exc.code.name}); retry in a few seconds"
    else:
        message = f"the image worker cannot be reached ({exc.code.name}); retry in a few seconds"
    return error_response(503, ErrorCode.WORKER_UNAVAILABLE, message, path=request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    """Registers every handler once; route handlers never catch (docs/architecture.md, section "One error path")."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(grpc.aio.AioRpcError, _on_rpc_error)
    app.add_exception_handler(WorkerUnreachable, _on_worker_unreachable)
