"""Builds the FastAPI app: lifespan (the worker channel, the rate limiter), middleware, error handlers, routes."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from api.a1111.routes import IMAGE_ROUTES as A1111_IMAGE_ROUTES
from api.a1111.routes import router as a1111_router
from api.auth import ApiKeyMiddleware, ApiKeys, document_bearer_auth
from api.errors import install_error_handlers
from api.gallery.routes import router as gallery_router
from api.gallery.store import Gallery
from api.middleware import BodyLimitMiddleware, InternalErrorMiddleware
from api.native.protocol import STREAM_EVENTS, StreamImage
from api.native.routes import EXPOSED_HEADERS, IMAGE_ROUTES
from api.native.routes import router as native_router
from api.observability import instrument
from api.openai.routes import IMAGE_ROUTES as OPENAI_IMAGE_ROUTES
from api.openai.routes import STREAM_COMPONENTS as OPENAI_STREAM_COMPONENTS
from api.openai.routes import router as openai_router
from api.openapi_docs import add_components
from api.rate_limit import RateLimiter
from api.request_id import HEADER as REQUEST_ID_HEADER
from api.request_id import is_safe, new_request_id
from api.settings import ApiSettings
from api.worker_client import WorkerClient

DESCRIPTION = """
Text-to-image with Stable Diffusion XL. `POST /generateimage` with a JSON prompt answers the PNG bytes;
the values the worker used (seed, size, steps, guidance, model) come back in `X-*` headers.

Every error is JSON `{"error": "<code>", "message": "<names the field, the limit and the value>"}`:
400 malformed JSON, 401 no valid API key (when API keys are on), 413 body too large, 415 not JSON,
422 invalid value, 429 worker queue full or rate limited (with `Retry-After`), 503 worker unavailable or not
ready, 504 deadline passed, 500 anything else.

With API keys on, every route but `/health` and `/ready` needs `Authorization: Bearer <key>`. Every answer
carries an `X-Request-Id` (the client's, when it sent a safe one), which the gateway's and the worker's log
lines name.
"""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The gateway for the worker the settings name (default: from the environment and .env)."""
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # grpc.aio channels belong to the event loop that creates them, so open it here, not at import.
        app.state.worker = WorkerClient.from_settings(settings)
        per_minute = settings.api_rate_limit_per_minute
        app.state.rate_limiter = RateLimiter(per_minute) if per_minute else None
        if settings.api_gallery:
            app.state.gallery = await asyncio.to_thread(
                Gallery.open,
                settings.database_url,
                settings.api_data_dir,
                settings.api_gallery_max_images,
                settings.api_gallery_max_bytes,
            )
        try:
            yield
        finally:
            await app.state.worker.close()
            if app.state.gallery is not None:
                await asyncio.to_thread(app.state.gallery.close)

    # /docs and /redoc from assets packaged with the api (fastapi-offline), not a CDN: they work offline.
    app = FastAPIOffline(title="img-generator API", description=DESCRIPTION, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.rate_limiter = None
    app.state.gallery = None
    app.include_router(native_router)
    app.include_router(gallery_router)
    # docs/architecture.md, section "Where a new thing goes": each dialect is one router over the one request.
    app.include_router(openai_router)
    app.include_router(a1111_router)
    add_components(app, [*STREAM_EVENTS.values(), StreamImage, *OPENAI_STREAM_COMPONENTS])
    install_error_handlers(app)
    keys = ApiKeys(settings.api_key_digests)
    if keys:
        document_bearer_auth(app)
    # add_middleware wraps: the last added is outermost. Inside out: the body limit; the API key check (before
    # any body is read); the last-resort 500; the metrics (which so count 401s, 413s and 500s too); CORS,
    # outside every error answer so a browser can read them; the request id, outermost so every log line of
    # the request names it.
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.api_max_body_bytes,
        image_paths={**IMAGE_ROUTES, **OPENAI_IMAGE_ROUTES, **A1111_IMAGE_ROUTES},
        max_image_bytes=settings.api_max_image_body_bytes,
    )
    app.add_middleware(ApiKeyMiddleware, keys=keys)
    app.add_middleware(InternalErrorMiddleware)
    instrument(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.api_cors_origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Content-Type", "Authorization", REQUEST_ID_HEADER],
        expose_headers=[*EXPOSED_HEADERS, REQUEST_ID_HEADER],
        max_age=600,
    )
    app.add_middleware(
        CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, generator=new_request_id, validator=is_safe
    )
    return app
