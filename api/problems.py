"""The error vocabulary every surface shares: the closed set of codes and the JSON body they come in."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ErrorCode(StrEnum):
    """The closed set of machine-readable error codes; clients may switch on them."""

    MALFORMED_JSON = "malformed_json"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_VALUE = "invalid_value"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate_limited"
    QUEUE_FULL = "queue_full"
    OUT_OF_MEMORY = "out_of_memory"
    WORKER_UNAVAILABLE = "worker_unavailable"
    WORKER_NOT_READY = "worker_not_ready"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    INTERNAL_ERROR = "internal_error"


class ErrorResponse(BaseModel):
    """Every error the gateway answers: a stable code and a message naming the field, limit and value."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": "invalid_value", "message": "width must be a multiple of 8 (got 1001)"}]
        }
    )

    error: ErrorCode
    message: str
