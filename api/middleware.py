"""Pure ASGI middleware: the request-body size limit, and the last-resort 500 that still gets CORS headers."""

import logging
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from api.problems import ErrorCode

log = logging.getLogger(__name__)


class BodyLimitMiddleware:
    """Answers 413 for a body over the limit, by Content-Length up front and by counting chunked bodies.

    The body is read here, before the app, so an oversized upload is refused without the framework ever
    buffering it; a body within the limit is replayed to the app as one message.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        image_paths: Mapping[str, frozenset[str]] | None = None,
        max_image_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Routes whose body may carry images (base64 JSON or multipart files) → the fields that carry them:
        # their own, larger limit, earned only by a body that has one of those fields.
        self.image_paths = dict(image_paths or {})
        self.max_image_bytes = max(max_image_bytes, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_image_bytes if scope["path"] in self.image_paths else self.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(f"{int(declared)} bytes", limit, scope, receive, send)
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
            if size > limit:
                # A chunked body has no declared size; say how much arrived before we stopped reading.
                await self._refuse(f"at least {size} bytes", limit, scope, receive, send)
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        body = b"".join(chunks)
        fields = self.image_paths.get(scope["path"], frozenset())
        if size > self.max_body_bytes and not _carries_images(body, fields):
            # Only an image earns the larger limit: a plain request stays small however it is padded.
            without = f"{self.max_body_bytes} bytes without {' or '.join(sorted(fields))}"
            await self._refuse(f"{size} bytes", without, scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(self, size: str, limit: int | str, scope: Scope, receive: Receive, send: Send) -> None:
        limit = f"{limit} bytes" if isinstance(limit, int) else limit
        message = f"the request body must be at most {limit} (got {size})"
        await error_response(413, ErrorCode.PAYLOAD_TOO_LARGE, message, path=scope["path"])(scope, receive, send)


def _carries_images(body: bytes, fields: frozenset[str]) -> bool:
    """Whether a body names one of the image fields: a JSON key `"initImage"`, or a multipart part's
    `name="image"` (the quoted name's bytes either way; the parser checks the rest)."""
    return any(b'"%s"' % field.encode() in body for field in fields)


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
            response = error_response(500, ErrorCode.INTERNAL_ERROR, message, path=scope.get("path", ""))
            await response(scope, receive, tracking_send)
