"""The native dialect's wire models: its request, /health and /ready, and the events of its stream."""

from typing import Annotated, Any, Final, Literal

from genproto import limits
from genproto.limits import MAX_PROMPT_CHARS, MAX_SIDE, MIN_SIDE, SIDE_STEP
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from api.problems import ErrorCode

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
        description=f"Classifier-free guidance; at most 1 disables it. Unset: {limits.DEFAULT_GUIDANCE_SCALE:g}.",
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


class StreamEvent(BaseModel):
    """The data of one event of POST /generateimage/stream: a JSON object with camelCase keys."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class StreamQueued(StreamEvent):
    """`queued`: where the request waits; sent again whenever its position changes."""

    position: int = Field(description="Requests ahead of this one, plus one.")
    queue_length: int = Field(description="Requests waiting in the worker's queue.")


class StreamStarted(StreamEvent):
    """`started`: the worker began; the values it uses (the request's, or the model's defaults)."""

    seed: int
    width: int
    height: int
    steps: int
    guidance_scale: float
    queued_seconds: float = Field(description="Seconds the request waited in the queue.")


class StreamProgress(StreamEvent):
    """`progress`: after every denoising step."""

    step: int
    steps: int
    eta_seconds: float = Field(description="Seconds until the last step, at the speed so far.")
    preview: str | None = Field(default=None, description="A small JPEG data: URL of the picture, every few steps.")


class StreamDone(StreamEvent):
    """`done`, last on success: the image and what made it (the values of /generateimage's X-* headers)."""

    image: str = Field(description="The image as a data: URL in the requested format.")
    seed: int
    width: int
    height: int
    steps: int
    guidance_scale: float
    model: str
    demo_model: bool
    generation_seconds: float
    filename: str = Field(description="The file name the api gives the image, as in Content-Disposition.")
    worker: str = Field(description="Which worker made it, as in X-Worker.")


class StreamError(StreamEvent):
    """`error`, last on failure: the code and message of /generateimage's error bodies."""

    error: ErrorCode
    message: str
    retry_after: int | None = Field(default=None, description="Seconds until a retry may succeed, where one may.")


# The event names of the stream and the shape of each one's data.
STREAM_EVENTS: Final[dict[str, type[StreamEvent]]] = {
    "queued": StreamQueued,
    "started": StreamStarted,
    "progress": StreamProgress,
    "done": StreamDone,
    "error": StreamError,
}
