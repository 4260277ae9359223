"""OpenAI's Images API wire models: its requests (JSON and multipart), answers, stream events and error body."""

from typing import Any, Final, Literal

from fastapi import UploadFile
from genproto import limits
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from api.native.protocol import GenerateImageRequest, LoraWeight, json_integer
from api.problems import ErrorCode

# docs/architecture.md, section "Where a new thing goes": these models only carry OpenAI's names and OpenAI-only
# values; every bound the native request has is checked by building it (api/openai/serving.py), and shown in this
# schema by copying the native field's JSON schema, so no bound is written here twice.
_NATIVE: Final[dict[str, Any]] = GenerateImageRequest.model_json_schema()["properties"]

# quality → denoising steps (None: the model's own default, SDXL base 30). `steps` in extra_body wins over it.
# Fixed numbers rather than fractions of the model's default: the api does not know a model's default before it
# answers, and these read the same for every model (a distilled model is best driven by `steps`).
QUALITY_STEPS: Final[dict[str, int | None]] = {
    "auto": None,
    "standard": None,
    "low": 12,
    "medium": 20,
    "high": 40,
    "hd": 50,
    "xhigh": 60,
    "max": 80,
}
Quality = Literal["auto", "standard", "low", "medium", "high", "hd", "xhigh", "max"]
# OpenAI's name for each native field a refusal may name (its `param`), for the fields the dialect maps.
OPENAI_PARAMS: Final[dict[str, str]] = {
    "positivePrompt": "prompt",
    "negativePrompt": "negative_prompt",
    "count": "n",
    "width": "size",
    "height": "size",
    "format": "output_format",
    "steps": "steps",
    "guidanceScale": "guidance_scale",
    "seed": "seed",
    "sampler": "sampler",
    "scheduleType": "schedule_type",
    "model": "model",
    "loras": "loras",
    "initImage": "image",
    "mask": "mask",
    "denoisingStrength": "denoising_strength",
    "maskBlur": "mask_blur",
}
# How a message names a native field whose OpenAI param is shared (size is width and height).
OPENAI_WORDS: Final[dict[str, str]] = {"width": "size's width", "height": "size's height"}

_SIDES: Final = "|".join(str(side) for side in range(limits.MIN_SIDE, limits.MAX_SIDE + 1, limits.SIDE_STEP))
# The sizes a request may name, exactly (sides in the native limits and multiples of SIDE_STEP), for the schema;
# serving.parse_size reads them and the native request checks them.
SIZE_PATTERN: Final = f"^(auto|(?:{_SIDES})x(?:{_SIDES}))$"


def _like(native: str, description: str, **field: Any) -> Any:
    """A field whose JSON schema is the native field's (its bounds), checked when the native request is built."""
    schema = {k: v for k, v in _NATIVE[native].items() if k not in ("title", "description", "default")}
    return Field(description=description, json_schema_extra=schema, **{"default": None, **field})


class ImageOptions(BaseModel):
    """What generations and edits share: OpenAI's fields, and the native extras a client sends in extra_body."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = _like("positivePrompt", "What the image should show.", default=...)
    model: str | None = _like(
        "model", "A model by its name in GET /v1/models. Unset: the default; OpenAI's names are not in the library."
    )
    n: int | None = _like(
        "count", "How many images (seeds seed, seed+1, ...); at most the workers' maxCount (GET /ready). Unset: 1."
    )
    size: str | None = Field(
        default=None,
        description="WIDTHxHEIGHT within the native limits (multiples of 8), or auto: the model's size. Unset: auto.",
        json_schema_extra={"pattern": SIZE_PATTERN},
    )
    quality: Quality | None = Field(
        default=None,
        description="Denoising steps: "
        + ", ".join(f"{q} {steps or 'the model default'}" for q, steps in QUALITY_STEPS.items())
        + ". `steps` wins over it. Unset: auto.",
    )
    response_format: Literal["b64_json", "url"] | None = Field(
        default=None,
        description="b64_json (the default): the image in the answer; url: its absolute URL in the gallery "
        "(GET /images/{id}/file, with the same API key), only with the gallery on. Streams: always b64_json.",
    )
    output_format: limits.ImageFormat | None = Field(default=None, description="png (the default), jpeg or webp.")
    output_compression: int | None = Field(
        default=None,
        ge=limits.MIN_OUTPUT_COMPRESSION,
        le=limits.MAX_OUTPUT_COMPRESSION,
        description="Accepted and ignored: the worker encodes JPEG and WebP at its own fixed quality.",
    )
    background: Literal["opaque", "auto"] | None = Field(
        default=None, description="opaque or auto (both opaque); transparent is refused: the models draw no alpha."
    )
    user: str | None = Field(
        default=None,
        max_length=limits.MAX_USER_CHARS,
        description="Your end user's opaque id, kept with the image in the gallery (its `user`).",
    )
    safety_identifier: str | None = Field(
        default=None, max_length=limits.MAX_USER_CHARS, description="As user, and wins over it when not empty."
    )
    stream: bool | None = Field(
        default=None, description="true: Server-Sent Events, partial images then one completed event per image."
    )
    partial_images: int | None = Field(
        default=None,
        ge=0,
        le=limits.MAX_PARTIAL_IMAGES,
        description="Partial images per image while streaming: the worker's previews, small JPEGs, spread over the "
        "steps; fewer when the worker makes fewer previews. Unset: 0.",
    )

    # Native extras (the SDK's extra_body).
    negative_prompt: str | None = _like("negativePrompt", "What the image should not show.")
    seed: int | None = _like("seed", "Seed of the first image; the same seed and values give the same pixels.")
    steps: int | None = _like("steps", "Denoising steps; wins over quality.")
    num_inference_steps: int | None = _like("steps", "The same as steps (diffusers' name); steps wins.")
    guidance_scale: float | None = _like("guidanceScale", "Classifier-free guidance. Unset: the worker's.")
    sampler: str | None = _like("sampler", "A sampler by A1111's name (GET /samplers). Unset: the model's own.")
    schedule_type: str | None = _like("scheduleType", "A schedule type (A1111's name). Unset: Automatic.")

    @field_validator("background", mode="before")
    @classmethod
    def _no_transparency(cls, value: Any) -> Any:
        if value == "transparent":
            message = (
                "background transparent is not supported: the models here draw opaque pixels (no alpha channel); "
                "use opaque or auto"
            )
            raise PydanticCustomError("refused", "{message}", {"message": message})
        return value

    @field_validator("n", "seed", "steps", "num_inference_steps", "output_compression", "partial_images", mode="before")
    @classmethod
    def _integral_number(cls, value: Any) -> Any:
        return json_integer(value)

    @property
    def end_user(self) -> str | None:
        """The end user's id the gallery keeps: safety_identifier when given, else user (OpenAI's precedence)."""
        return self.safety_identifier or self.user or None


class ImageGenerationRequest(ImageOptions):
    """POST /v1/images/generations' JSON body."""

    # JSON types only, as the native request ("2" is not a count).
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"prompt": "a lighthouse at dusk", "size": "1024x1024", "n": 1}]},
    )

    loras: list[LoraWeight] | None = Field(
        default=None, max_length=limits.MAX_LORAS, description="LoRAs for this request (GET /loras)."
    )
    moderation: Literal["low", "auto"] | None = Field(default=None, description="Accepted and ignored.")
    style: Literal["vivid", "natural"] | None = Field(default=None, description="Accepted and ignored.")


def _no_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A value's schema without null, which a form cannot send."""
    if isinstance(schema.get("type"), list):
        kinds = [kind for kind in schema["type"] if kind != "null"]
        schema = {**schema, "type": kinds[0] if len(kinds) == 1 else kinds}
    if "enum" in schema:
        schema = {**schema, "enum": [value for value in schema["enum"] if value is not None]}
    return schema


def _form_schema(schema: dict[str, Any]) -> None:
    """The form's schema as a form can be: exactly one image, no null, and an empty field is one left out.

    FastAPI reads an empty optional form field as absent (its default), so the schema says "" is accepted.
    """
    _meta = ("title", "description", "default")
    for name, field in schema["properties"].items():
        choices = [choice for choice in field.pop("anyOf", [field]) if choice != {"type": "null"}]
        if name in ("image", "image[]"):
            field.update(choices[0], minItems=1, maxItems=1)
            continue
        if name in schema.get("required", []) or name == "mask":
            field.update(choices[0] if len(choices) == 1 else {"anyOf": choices})
            continue
        values = [{k: v for k, v in choice.items() if k not in _meta} for choice in choices]
        for key in [k for k in field if k not in _meta]:  # the constraints that sat beside anyOf (e.g. enum)
            values = [{**value, key: field.pop(key)} for value in values] if len(values) == 1 else values
        field["anyOf"] = [*map(_no_null, values), {"const": ""}]
    schema["oneOf"] = [{"required": ["image"]}, {"required": ["image[]"]}]


class ImageEditForm(ImageOptions):
    """POST /v1/images/edits' multipart form: the image to start from, a mask, and the generation's fields.

    LoRAs come as `<lora:name:weight>` tags in the prompt here (a form field holds no list of objects).
    """

    # Form values are text: "2" is the number 2 here.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra=_form_schema)

    image: list[UploadFile] = Field(default_factory=list, description="The one image to start from (PNG/JPEG/WebP).")
    images: list[UploadFile] = Field(
        default_factory=list, alias="image[]", description="The same, as the SDK names a list of images."
    )
    mask: UploadFile | None = Field(
        default=None,
        description="A PNG of the image's size whose transparent pixels are the area to repaint (OpenAI's "
        "convention). Unset: the image's own transparency, else the whole image is redrawn.",
    )

    @field_validator("stream", mode="before")
    @classmethod
    def _true_or_false(cls, value: Any) -> Any:
        # The SDK writes a form's boolean as true or false; "0", "yes" or "on" are no spelling it would send.
        if isinstance(value, str) and value not in ("true", "false"):
            raise PydanticCustomError("bool_type", "not true or false")
        return value == "true" if isinstance(value, str) else value

    denoising_strength: float | None = _like("denoisingStrength", "How much of the image is redrawn.")
    mask_blur: int | None = _like("maskBlur", "The mask's feathering in pixels.")


class ImageData(BaseModel):
    """One image of an answer: its bytes (base64) or its gallery URL."""

    b64_json: str | None = Field(default=None, description="The image, base64 (response_format b64_json).")
    url: str | None = Field(default=None, description="Its absolute URL in the gallery (response_format url).")
    revised_prompt: None = Field(default=None, description="Always null: the prompt is used as given.")


class ImagesResponse(BaseModel):
    """The answer of /v1/images/generations and /v1/images/edits."""

    created: int = Field(description="Unix seconds.")
    data: list[ImageData]
    size: str = Field(description="WIDTHxHEIGHT of the images.")
    output_format: limits.ImageFormat
    quality: str = Field(description="The quality asked for (auto when unset).")
    background: Literal["opaque"] = "opaque"


class Usage(BaseModel):
    """Token usage, which these models do not count: zeros, for clients that read it."""

    class InputTokensDetails(BaseModel):
        """Zeros."""

        image_tokens: int = 0
        text_tokens: int = 0

    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int = 0
    total_tokens: int = 0


class StreamEvent(BaseModel):
    """The data of one event of a streamed answer (its `type` names it, as the SDK reads it)."""

    type: str
    b64_json: str
    created_at: int
    size: str
    quality: str
    output_format: limits.ImageFormat
    background: Literal["opaque"] = "opaque"


class PartialImageEvent(StreamEvent):
    """`image_generation.partial_image` (`image_edit.partial_image`): a preview as the image forms."""

    partial_image_index: int = Field(description="Counts the request's partial images from 0.")


class CompletedEvent(StreamEvent):
    """`image_generation.completed` (`image_edit.completed`): one finished image."""

    usage: Usage = Field(default_factory=Usage)


class Model(BaseModel):
    """One model of the library, as OpenAI lists models."""

    id: str = Field(description="The name requests use as `model`.")
    object: Literal["model"] = "model"
    created: int = Field(description="0: the library does not know when a model was made.")
    owned_by: str


class ModelList(BaseModel):
    """GET /v1/models' answer."""

    object: Literal["list"] = "list"
    data: list[Model]


class ErrorDetail(BaseModel):
    """What went wrong, in OpenAI's words."""

    message: str
    type: str = Field(description="invalid_request_error (4xx), requests (429) or server_error (5xx).")
    param: str | None = Field(description="The request field at fault, by OpenAI's name; null when none.")
    code: ErrorCode = Field(description="The gateway's error code (the native `error`).")


class OpenAIErrorResponse(BaseModel):
    """Every error answer on /v1."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "message": "n must be at most 8 (got 12)",
                        "type": "invalid_request_error",
                        "param": "n",
                        "code": "invalid_value",
                    }
                }
            ]
        }
    )

    error: ErrorDetail
