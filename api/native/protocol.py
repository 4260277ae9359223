"""The native dialect's wire models: its request, /health and /ready, and the events of its stream."""

import base64
import binascii
import json
from typing import Annotated, Any, Final, Literal

from genproto import limits, samplers
from genproto.limits import MAX_PROMPT_CHARS, MAX_SIDE, MIN_SIDE, SIDE_STEP
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from api.problems import ErrorCode

# docs/architecture.md, section "Validate at the edge, re-check at the worker": every bound below is limits'.

# Images travel in JSON as base64 (A1111's convention), a data: URL's prefix allowed; the model holds the bytes.
BASE64_PATTERN: Final = r"^(data:[^,]*,)?(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
Base64Image = Annotated[
    bytes | None,
    WithJsonSchema({"type": ["string", "null"], "contentEncoding": "base64", "pattern": BASE64_PATTERN}),
]

# strict: JSON types only ("512" or true is not a size), so a client's type bug is named, not guessed at.
Side = Annotated[int | None, Field(strict=True, ge=MIN_SIDE, le=MAX_SIDE, multiple_of=SIDE_STEP)]


def json_integer(value: Any) -> Any:
    """A float with no fraction as the integer it is; anything else as it came (for every dialect's integer fields).

    JSON has one number type: 512.0 is the integer 512 to JSON Schema ("type": "integer") and to a JavaScript client,
    which cannot even write the difference. Strings, booleans and 512.5 stay refused (strict).
    """
    return int(value) if isinstance(value, float) and value.is_integer() else value


class LoraWeight(BaseModel):
    """A LoRA for one request and its weight."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(strict=True, min_length=1, max_length=limits.MAX_NAME_CHARS, description="A name of GET /loras.")
    weight: float = Field(
        default=1.0,
        strict=True,
        ge=limits.MIN_LORA_WEIGHT,
        le=limits.MAX_LORA_WEIGHT,
        allow_inf_nan=False,
        description="How strongly it applies; 0 is as if it were not there. Unset: 1.",
    )

    @field_validator("weight", mode="before")
    @classmethod
    def _integral_is_a_number(cls, value: Any) -> Any:
        # JSON has one number type: a weight of 1 is the number 1.0 (strict refuses ints for a float otherwise).
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


# Fields the gateway itself acts on (the gallery), never sent to the worker.
GATEWAY_FIELDS: Final = frozenset({"save"})


class GenerateImageRequest(BaseModel):
    """One text-to-image request; unset values are the worker's defaults for its model."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        # A misspelt field ("postivePrompt") is an error, not a silently ignored default.
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            # What the field checks say, for schema-driven clients: a fixed-timestep sampler takes no sigma schedule.
            "allOf": [
                {
                    "if": {
                        "properties": {"sampler": {"enum": list(samplers.FIXED_TIMESTEP_SPELLINGS)}},
                        "required": ["sampler"],
                    },
                    "then": {"properties": {"scheduleType": {"enum": [*samplers.SPACING_SCHEDULES, None]}}},
                }
            ],
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
            ],
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
    sampler: str | None = Field(
        default=None,
        strict=True,
        description='The sampler by AUTOMATIC1111\'s name or alias (GET /samplers), e.g. "DPM++ 2M" or "Euler a"; '
        'the legacy "DPM++ 2M Karras" style names too, in any case. Unset: the model\'s own scheduler (SDXL base: '
        "Euler).",
        json_schema_extra={"type": ["string", "null"], "enum": [*samplers.SPELLINGS, None]},
    )
    schedule_type: str | None = Field(
        default=None,
        strict=True,
        description=f"The schedule type, as A1111 1.9+ names it: {limits.choices(samplers.SCHEDULE_TYPES)}. "
        "Unset: Automatic (the sampler's own choice).",
        json_schema_extra={"type": ["string", "null"], "enum": [*samplers.SCHEDULE_TYPES, None]},
    )
    count: int | None = Field(
        default=None,
        strict=True,
        ge=limits.MIN_COUNT,
        le=limits.MAX_COUNT,
        description="How many images, with seeds seed, seed+1, ...; each the image a count-1 request with its seed "
        "gives. More than 1 only on /generateimage/stream. Unset: 1.",
    )

    model: str | None = Field(
        default=None,
        strict=True,
        min_length=1,
        max_length=limits.MAX_NAME_CHARS,
        description="The model by its name in GET /models (never a path). Unset: the worker's default model.",
    )
    loras: list[LoraWeight] | None = Field(
        default=None,
        max_length=limits.MAX_LORAS,
        description="LoRAs for this request only (GET /loras); `<lora:name:weight>` tags in the prompt add to them.",
    )

    init_image: Base64Image = Field(
        default=None,
        description="Image to image: a PNG, JPEG or WebP to start from, base64 or a data: URL. Unset: text to image.",
    )
    denoising_strength: float | None = Field(
        default=None,
        strict=True,
        allow_inf_nan=False,
        description=f"How much of initImage is denoised again, more than {limits.MIN_STRENGTH:g} and at most "
        f"{limits.MAX_STRENGTH:g} (about steps x strength steps run). Unset: {limits.DEFAULT_STRENGTH:g}.",
        # `default` is what an unset value means (the worker fills it), so schema-driven clients read it there.
        json_schema_extra={
            "exclusiveMinimum": limits.MIN_STRENGTH,
            "maximum": limits.MAX_STRENGTH,
            "default": limits.DEFAULT_STRENGTH,
        },
    )
    mask: Base64Image = Field(
        default=None,
        description="Inpainting: an image of initImage's size, base64 or a data: URL; white repaints, black keeps, "
        "grey partly. Unset: initImage's alpha channel when it has transparency, else no mask.",
    )
    mask_blur: int | None = Field(
        default=None,
        strict=True,
        ge=limits.MIN_MASK_BLUR,
        le=limits.MAX_MASK_BLUR,
        description=f"The mask's feathering in pixels. Unset: {limits.DEFAULT_MASK_BLUR}.",
        json_schema_extra={"default": limits.DEFAULT_MASK_BLUR},
    )
    inpainting_fill: limits.InpaintingFill | None = Field(
        default=None, description="What the masked area starts from. Unset: original."
    )
    resize_mode: limits.ResizeMode | None = Field(
        default=None, description="How initImage meets a requested width/height. Unset: just resize."
    )
    save: bool | None = Field(
        default=None,
        strict=True,
        description="false: this request's images are not kept in the gallery (GET /images). Unset: kept.",
    )

    @field_validator("init_image", "mask", mode="before")
    @classmethod
    def _base64(cls, value: Any, info: ValidationInfo) -> Any:
        # A1111's convention: base64, with or without a data: URL's prefix; bytes travel on to the worker raw.
        if value is None:
            return None
        field = to_camel(info.field_name or "")
        if not isinstance(value, str):
            raise PydanticCustomError("refused", "{message}", {"message": f"{field} must be a base64 string"})
        text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            shown = json.dumps(value[:20]) + ("..." if len(value) > 20 else "")
            message = f"{field} must be base64 or a data: URL of a PNG, JPEG or WebP (got {shown})"
            raise PydanticCustomError("refused", "{message}", {"message": message}) from None

    @field_validator("denoising_strength")
    @classmethod
    def _strength_in_range(cls, value: float | None) -> float | None:
        if value is not None and not limits.MIN_STRENGTH < value <= limits.MAX_STRENGTH:
            refusal = limits.strength_out_of_range("denoisingStrength", f"{value:g}")
            raise PydanticCustomError("refused", "{message}", {"message": refusal})
        return value

    @field_validator("sampler")
    @classmethod
    def _known_sampler(cls, value: str | None) -> str | None:
        if value is not None and samplers.resolve(value) is None:
            raise PydanticCustomError("literal_error", "unknown sampler", {"expected": limits.choices(samplers.NAMES)})
        return value

    @field_validator("schedule_type")
    @classmethod
    def _known_schedule(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        schedule = samplers.resolve_schedule(value)
        if schedule is None:
            expected = limits.choices(samplers.SCHEDULE_TYPES)
            raise PydanticCustomError("literal_error", "unknown schedule type", {"expected": expected})
        found = samplers.resolve(info.data.get("sampler") or "")
        if found is not None and schedule not in found[0].schedule_types:
            refusal = samplers.schedule_refusal("scheduleType", found[0], schedule)
            raise PydanticCustomError("refused", "{message}", {"message": refusal})
        return value

    @field_validator("count")
    @classmethod
    def _seeds_in_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        seed = info.data.get("seed")
        if value is not None and seed is not None and seed + value - 1 > limits.MAX_SEED:
            refusal = limits.last_seed_above("seed", "count", seed, value)
            raise PydanticCustomError("refused", "{message}", {"message": refusal})
        return value

    @field_validator("width", "height", "steps", "seed", "count", "mask_blur", mode="before")
    @classmethod
    def _integral_number(cls, value: Any) -> Any:
        return json_integer(value)

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


class GenerateOneImageRequest(GenerateImageRequest):
    """POST /generateimage's request: one image answered as bytes; several come from /generateimage/stream."""

    count: int | None = Field(
        default=None,
        strict=True,
        ge=limits.MIN_COUNT,
        le=1,
        description="1 here (or unset): several images per request come from /generateimage/stream.",
    )

    @field_validator("count", mode="before")
    @classmethod
    def _one_image(cls, value: Any) -> Any:
        # Named here rather than as "at most 1", so a client learns where several images come from.
        if isinstance(value, int) and not isinstance(value, bool) and value > 1:
            refusal = limits.needs_stream("count", value, "POST /generateimage/stream")
            raise PydanticCustomError("refused", "{message}", {"message": refusal})
        return value


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
    sampler: str = Field(description="The model's own sampler (A1111's name), used when a request names none.")


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
                    "defaults": {"width": 1024, "height": 1024, "steps": 30, "guidanceScale": 7.0, "sampler": "Euler"},
                    "maxCount": 8,
                    "queue": {"length": 0, "capacity": 16},
                    "workers": {"serving": 1, "total": 1},
                    "gallery": True,
                }
            ]
        }
    )

    status: Literal["ready"] = "ready"
    model: str = Field(description="The loaded model's name.")
    demoModel: bool = Field(  # the wire name
        description="True when the worker runs the built-in demo model (models/demo-shapes: it draws flat shapes)."
    )
    description: str = Field(
        "",
        description="What the model draws and how to prompt it, as its folder says (the demo model's grammar); "
        "empty when the model says nothing.",
    )
    device: str = Field(description='The torch device, e.g. "cuda:0" or "cpu".')
    dtype: str = Field(description='The denoiser\'s dtype, e.g. "float16".')
    defaults: Defaults
    maxCount: int = Field(description="The most images one request may ask for (count) on every serving worker.")
    queue: Queue
    workers: Workers
    gallery: bool = Field(description="Whether answered images are kept in the gallery (GET /images).")


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
    sampler: str = Field(description="The sampler that runs (A1111's name).")
    schedule_type: str = Field(description="The schedule type that runs (what Automatic resolved to).")
    count: int = Field(description="How many images the request makes.")


class StreamProgress(StreamEvent):
    """`progress`: after every denoising step."""

    step: int
    steps: int
    eta_seconds: float = Field(description="Seconds until the last step, at the speed so far.")
    preview: str | None = Field(default=None, description="A small JPEG data: URL of the picture, every few steps.")
    image_index: int = Field(description="Which of the request's images the step belongs to, from 0.")
    image_count: int = Field(description="How many images the request makes.")


class StreamImage(StreamEvent):
    """One image of a request and the seed that remakes it alone."""

    image: str = Field(description="The image as a data: URL in the requested format.")
    seed: int
    image_id: str | None = Field(
        default=None, description="Its id in the gallery (GET /images/{id}); absent: not kept."
    )


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
    sampler: str = Field(description="The sampler that ran, as in X-Sampler.")
    schedule_type: str = Field(description="The schedule type that ran, as in X-Schedule-Type.")
    infotext: str = Field(description="A1111's generation parameters, as written inside the file (empty when off).")
    loras: list[LoraWeight] = Field(description="The LoRAs applied (the request's and its prompt tags').")
    denoising_strength: float | None = Field(default=None, description="Image to image: the strength used.")
    mask_blur: int | None = Field(default=None, description="Image to image: the mask blur used (0: no mask).")
    images: list[StreamImage] = Field(description="Every image of the request in seed order; `image` is the first.")
    image_id: str | None = Field(
        default=None, description="The first image's gallery id, as X-Image-Id; absent: not kept."
    )


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


class SamplerInfo(BaseModel):
    """One sampler as A1111's /sdapi/v1/samplers lists it, with the schedule types it takes."""

    name: str
    aliases: list[str]
    options: dict[str, str]
    scheduleTypes: list[str]  # the wire name


class LibraryModel(BaseModel):
    """One model of the library, as GET /models lists it."""

    name: str = Field(description="The name requests use: the file's stem or the folder's name (\"sub/name\").")
    title: str = Field(description="A1111's title: `name [hash]` (the name alone while the hash is computed).")
    hash: str | None = Field(description="A1111's short hash (sha256[:10]); null until computed, and for folders.")
    kind: Literal["file", "folder", "demo"]
    loaded: bool = Field(description="In memory now.")
    default: bool = Field(description="What requests without `model` get.")
    demo: bool = Field(description="The built-in demo model.")


class SetDefaultModel(BaseModel):
    """PUT /models/default's body."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(strict=True, min_length=1, max_length=limits.MAX_NAME_CHARS, description="A name of GET /models.")


class LibraryLora(BaseModel):
    """One LoRA of the library, as GET /loras lists it."""

    name: str = Field(description="The name requests use: its path under loras/ without the suffix.")
    alias: str = Field(description="A1111's alias: the name it was trained under, else the file's stem.")
    hash: str | None = Field(description="A1111's short hash; null until computed.")
    path: str = Field(description="Its path relative to the model library.")
