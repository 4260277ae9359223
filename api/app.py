"""Builds the FastAPI app: lifespan (the worker channel), middleware, error handlers, routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.errors import install_error_handlers
from api.middleware import BodyLimitMiddleware, InternalErrorMiddleware
from api.routes import EXPOSED_HEADERS, router
from api.settings import ApiSettings
from api.worker_client import WorkerClient

DESCRIPTION = """
Text-to-image with Stable Diffusion XL. `POST /generateimage` with a JSON prompt answers the PNG bytes;
the values the worker used (seed, size, steps, guidance, model) come back in `X-*` headers.

Every error is JSON `{"error": "<code>", "message": "<names the field, the limit and the value>"}`:
400 malformed JSON, 413 body too large, 415 not JSON, 422 invalid value, 429 worker queue full
(with `Retry-After`), 503 worker unavailable or not ready, 504 deadline passed, 500 anything else.
"""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The gateway for the worker the settings name (default: from the environment and .env)."""
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # grpc.aio channels belong to the event loop that creates them, so open it here, not at import.
        app.state.worker = WorkerClient.from_settings(settings)
        try:
            yield
        finally:
            await app.state.worker.close()

    app = FastAPI(title="img-generator API", description=DESCRIPTION, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(router)
    install_error_handlers(app)
    # add_middleware wraps: the last added is outermost. CORS must be outside every error answer (413s
    # and 500s included) so a browser can read them.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.api_max_body_bytes)
    app.add_middleware(InternalErrorMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.api_cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )
    return app
