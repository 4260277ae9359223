"""Pure ASGI middleware: the request-body size limit, and the last-resort 500 that still gets CORS headers."""

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from api.problems import ErrorCode

log = logging.getLogger(__name__)


class BodyLimitMiddleware:
    """Answers 413 for a body over the limit, by Content-Length up front and by counting chunked bodies.

    The body is read here, before the app, so an oversized upload is refused without the framework ever
    buffering it; a body within the limit is replayed to the app as one message.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(f"{int(declared)} bytes", scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":  # the client went away mid-body
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                # A chunked body has no declared size; say how much arrived before we stopped reading.
                await self._refuse(f"at least {size} bytes", scope, receive, send)
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, size: str, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body must be at most {self.max_body_bytes} bytes (got {size})"
        await error_response(413, ErrorCode.PAYLOAD_TOO_LARGE, message)(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the buffered body once, then passes through (e.g. http.disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class InternalErrorMiddleware:
    """Turns an unexpected exception into a generic 500 JSON answer, logging the traceback.

    Starlette's own 500 is rendered outside CORSMiddleware, so a browser could not read it; this sits
    inside CORS. No traceback ever reaches a client.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late for another answer; the server closes the connection
                raise
            message = "the gateway failed unexpectedly; its log has the details"
            await error_response(500, ErrorCode.INTERNAL_ERROR, message)(scope, receive, tracking_send)
