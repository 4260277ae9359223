"""The HTTP request and response models; their limits are what /docs shows and what the gateway enforces."""

from enum import StrEnum
from typing import Annotated, Any, Literal

from genproto import limits
from genproto.limits import MAX_PROMPT_CHARS, MAX_SIDE, MIN_SIDE, SIDE_STEP
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

# docs/architecture.md, section "Validate at the edge, re-check at the worker": every bound below is limits'.

# strict: JSON types only ("512" or true is not a size), so a client's type bug is named, not guessed at.
Side = Annotated[int | None, Field(strict=True, ge=MIN_SIDE, le=MAX_SIDE, multiple_of=SIDE_STEP)]


class GenerateImageRequest(BaseModel):
    """One text-to-image request; unset values are the worker's defaults for its model."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        # A misspelt field ("postivePrompt") is an error, not a silently ignored default.
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"positivePrompt": "a lighthouse at dusk", "negativePrompt": "blurry"},
                {
                    "positivePrompt": "a red fox in the snow, photo",
                    "width": 768,
                    "height": 512,
                    "steps": 25,
                    "guidanceScale": 6.5,
                    "seed": 42,
                },
            ]
        },
    )

    positive_prompt: str = Field(
        strict=True,
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        description="What the image should show; not blank.",
    )
    negative_prompt: str = Field(
        default="",
        strict=True,
        max_length=MAX_PROMPT_CHARS,
        description="What the image should not show; null is none.",
        # The schema says what is accepted: null too (_null_is_empty), which a plain str would deny.
        json_schema_extra={"type": ["string", "null"]},
    )
    width: Side = Field(default=None, description="Width in pixels, a multiple of 8. Unset: the model's default.")
    height: Side = Field(default=None, description="Height in pixels, a multiple of 8. Unset: the model's default.")
    steps: int | None = Field(
        default=None,
        strict=True,
        ge=limits.MIN_STEPS,
        le=limits.MAX_STEPS,
        description="Denoising steps. Unset: the model's default.",
    )
    guidance_scale: float | None = Field(
        default=None,
        strict=True,
        ge=limits.MIN_GUIDANCE,
        le=limits.MAX_GUIDANCE,
        allow_inf_nan=False,
        description="Classifier-free guidance; at most 1 disables it. Unset: the model's default.",
    )
    seed: int | None = Field(
        default=None,
        strict=True,
        ge=limits.MIN_SEED,
        le=limits.MAX_SEED,
        description="Seed of the initial noise; the same seed and values give the same image. Unset: random.",
    )

    format: limits.ImageFormat | None = Field(
        default=None,
        description="The answer's image format: png (lossless, the default), jpeg or webp.",
    )

    @field_validator("width", "height", "steps", "seed", mode="before")
    @classmethod
    def _integral_number(cls, value: Any) -> Any:
        # JSON has one number type: 512.0 is the integer 512 to JSON Schema ("type": "integer") and to a JavaScript
        # client, which cannot even write the difference. Strings, booleans and 512.5 stay refused (strict).
        return int(value) if isinstance(value, float) and value.is_integer() else value

    @field_validator("positive_prompt", "negative_prompt", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        # Python's idea of whitespace, which the worker's blank check uses (worker/params.py): pydantic's own
        # stripping keeps e.g. U+001F, so a prompt of only that passed here and was refused by the worker.
        return value.strip() if isinstance(value, str) else value

    @field_validator("negative_prompt", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # JavaScript clients send null for "no value"; for a negative prompt that means none.
        return "" if value is None else value


class HealthResponse(BaseModel):
    """Liveness of the gateway itself, in the original's shape."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": 200, "timestamp": 1732521600}]})

    status: int = Field(description="Always 200.")
    timestamp: int = Field(description="The gateway's clock, unix seconds.")


class Defaults(BaseModel):
    """The values the worker uses when a request leaves them unset."""

    width: int
    height: int
    steps: int
    guidanceScale: float  # the wire name


class Queue(BaseModel):
    """The request queues of the serving workers right now, added up."""

    length: int = Field(description="Requests waiting.")
    capacity: int = Field(description="Requests that may wait; beyond it the answer is 429.")


class Workers(BaseModel):
    """How many of the workers behind the gateway (RPC_TARGET) report SERVING."""

    serving: int = Field(description="Workers that report SERVING and answer requests.")
    total: int = Field(description="Workers the target names (a dns: name: the addresses it resolves to now).")


class ReadyResponse(BaseModel):
    """At least one worker is serving: its model, where it runs, its defaults; the queues; how many serve."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "model": "sd_xl_base_1.0.safetensors",
                    "demoModel": False,
                    "device": "cuda:0",
                    "dtype": "float16",
                    "defaults": {"width": 1024, "height": 1024, "steps": 30, "guidanceScale": 7.0},
                    "queue": {"length": 0, "capacity": 16},
                    "workers": {"serving": 1, "total": 1},
                }
            ]
        }
    )

    status: Literal["ready"] = "ready"
    model: str = Field(description="The loaded model's name.")
    demoModel: bool = Field(  # the wire name
        description="True when the worker runs the built-in demo model (its images are noise)."
    )
    device: str = Field(description='The torch device, e.g. "cuda:0" or "cpu".')
    dtype: str = Field(description='The denoiser\'s dtype, e.g. "float16".')
    defaults: Defaults
    queue: Queue
    workers: Workers


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
