"""API keys: when any is configured, every route but /health and /ready needs `Authorization: Bearer <key>` (or
HTTP Basic with the key as the password, as AUTOMATIC1111's `--api-auth` clients send it)."""

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Sequence
from typing import Any, Final

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from api.observability import AUTH_FAILURES
from api.problems import ErrorCode

log = logging.getLogger(__name__)

# Liveness and readiness probes (compose, Kubernetes) carry no credentials.
PUBLIC_PATHS: Final = frozenset({"/health", "/ready"})
# Where the authenticated key's identity (its digest, hex) is kept for the rate limiter: scope["state"][KEY_ID].
KEY_ID: Final = "api_key_id"
# The same words for a missing and a wrong key: the answer never tells whether a key exists.
UNAUTHORIZED_MESSAGE: Final = (
    "a valid API key is required: send Authorization: Bearer <key>, or Basic auth with the key as the password"
)
SECURITY_SCHEME: Final = "apiKey"


class ApiKeys:
    """The accepted keys, held as SHA-256 digests only."""

    def __init__(self, digests: Sequence[bytes]) -> None:
        self._digests = tuple(digests)

    def __bool__(self) -> bool:
        return bool(self._digests)

    def identify(self, key: str) -> str | None:
        """The key's digest (hex) when it is one of the accepted keys, else None.

        Digests, not keys, are compared: equal lengths, and a timing difference would tell at most about a
        hash. hmac.compare_digest runs against every stored digest, with no early exit, so the time taken
        does not say which one (or whether any) matched.
        """
        presented = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(presented, digest)
        return presented.hex() if matched else None


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 7235)."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def basic_password(authorization: str) -> str | None:
    """The password of an `Authorization: Basic base64(user:password)` header; the user name is not looked at.

    A1111's API auth is HTTP Basic (`--api-auth user:pass`), so its clients (webuiapi's set_auth, Open WebUI's
    `user:key`) send the key this way.
    """
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, or not UTF-8 (UnicodeDecodeError is a ValueError)
        return None
    _, colon, password = decoded.partition(":")
    return password if colon and password else None


def presented_key(authorization: str) -> str | None:
    """The API key an Authorization header carries: a Bearer token, or a Basic password."""
    return bearer_token(authorization) or basic_password(authorization)


class ApiKeyMiddleware:
    """Answers 401 (WWW-Authenticate: Bearer) to a request without a valid key, before its body is read.

    A middleware rather than a route dependency: it covers every route, /metrics, /docs and unknown paths
    included, and an unauthenticated client never gets the gateway to buffer its body.
    """

    def __init__(self, app: ASGIApp, keys: ApiKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        # Only the token is looked at; no header of the request is ever logged.
        token = presented_key(Headers(scope=scope).get("authorization", ""))
        key_id = self.keys.identify(token) if token is not None else None
        if key_id is None:
            reason = "missing" if token is None else "invalid"
            AUTH_FAILURES.labels(reason).inc()
            client = scope.get("client")
            log.warning(
                "refused %s %s: %s API key (client %s)",
                scope["method"],
                scope["path"],
                reason,
                client[0] if client else "?",
            )
            # Bearer only: a Basic challenge would make browsers (the web page) pop up their own login dialog.
            headers = {"WWW-Authenticate": "Bearer"}
            response = error_response(401, ErrorCode.UNAUTHORIZED, UNAUTHORIZED_MESSAGE, headers, path=scope["path"])
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[KEY_ID] = key_id
        await self.app(scope, receive, send)


def document_bearer_auth(app: FastAPI) -> None:
    """Declares the bearer scheme in the OpenAPI schema, on every operation but the public ones (for /docs'
    Authorize button and generated clients)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = build()  # also kept as app.openapi_schema, so the changes below are made once
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[SECURITY_SCHEME] = {"type": "http", "scheme": "bearer", "description": "An API key (API_KEYS)."}
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values() if path not in PUBLIC_PATHS else ():
                    operation["security"] = [{SECURITY_SCHEME: []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
