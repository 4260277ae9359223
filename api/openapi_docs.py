"""What the OpenAPI schema says beyond the route signatures: the error answers, and models no route returns as JSON."""

from collections.abc import Iterable
from typing import Any, Final

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.problems import ErrorResponse

ERROR_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "malformed_json: the body is not valid JSON (or not text).",
    401: "unauthorized: API keys are on and the request has no valid `Authorization: Bearer <key>`.",
    404: "not_found: no such image (or another API key's), or the gallery is off (API_GALLERY=false).",
    413: "payload_too_large: the body is over API_MAX_BODY_BYTES.",
    415: "unsupported_media_type: the body is not declared application/json.",
    422: "invalid_value: a value breaks a limit, or an unknown field.",
    429: "queue_full (the worker's queue) or rate_limited (API_RATE_LIMIT_PER_MINUTE); `Retry-After` says when.",
    500: "internal_error: anything else; the gateway's log has the details.",
    503: "worker_unavailable (loading, draining or down) or out_of_memory (this size did not fit).",
    504: "deadline_exceeded: no image within API_GENERATE_TIMEOUT_SECONDS.",
}
COMPONENTS_REF: Final = "#/components/schemas/{model}"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route, for the OpenAPI schema: each is an ErrorResponse."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        documented[status] = {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]}
        if status == 429:
            seconds = {"description": "Seconds until a retry may succeed.", "schema": {"type": "string"}}
            documented[status]["headers"] = {"Retry-After": seconds}
    return documented


def component_ref(model: type[BaseModel]) -> dict[str, str]:
    """A $ref to a model that add_components puts in the schema."""
    return {"$ref": COMPONENTS_REF.format(model=model.__name__)}


def add_components(app: FastAPI, models: Iterable[type[BaseModel]]) -> None:
    """Lists models in components/schemas that routes reference by hand (e.g. each event of an SSE stream)."""
    build = app.openapi
    wanted = list(models)

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = build()  # also kept as app.openapi_schema, so this runs once
            modes = [(model, "serialization") for model in wanted]
            _, definitions = models_json_schema(modes, ref_template=COMPONENTS_REF)  # type: ignore[arg-type]
            schema.setdefault("components", {}).setdefault("schemas", {}).update(definitions.get("$defs", {}))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
