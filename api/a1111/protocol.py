"""A1111's wire models: txt2img and img2img bodies as its clients send them, and the answers they parse."""

import copy
from typing import Any, Final

from genproto import limits, samplers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.native.protocol import BASE64_PATTERN, GenerateImageRequest, json_integer
from api.problems import ErrorCode

# docs/architecture.md, section "Validate at the edge, re-check at the worker": a mapped field is checked by the
# native model it becomes (api/a1111/serving.py), so its schema here is the native field's, bounds and all.
_NATIVE: Final = GenerateImageRequest.model_json_schema(by_alias=True)["properties"]


def native_schema(alias: str) -> dict[str, Any]:
    """The native field's JSON schema (types, bounds, pattern, enum) without its words, for the A1111 field."""
    return {k: v for k, v in copy.deepcopy(_NATIVE[alias]).items() if k not in ("title", "description", "default")}


def schedule_name(label: str) -> str:
    """A schedule type as A1111's /schedulers names it ("SGM Uniform" → "sgm_uniform")."""
    return label.lower().replace(" ", "_")


# A1111's scheduler field takes the names of /schedulers and, as A1111 does, their labels.
SCHEDULER_SPELLINGS: Final = (*(schedule_name(s) for s in samplers.SCHEDULE_TYPES), *samplers.SCHEDULE_TYPES)
_SPACING_SPELLINGS: Final = [*(schedule_name(s) for s in samplers.SPACING_SCHEDULES), *samplers.SPACING_SCHEDULES]

# Features this service does not have → the values that leave them off (A1111's default first) and their words.
# A request with any other value is refused, naming the field (serving.refuse_unsupported); the schema says the same.
UNSUPPORTED: Final[dict[str, tuple[tuple[Any, ...], str]]] = {
    "restore_faces": ((False, None), "face restoration"),
    "tiling": ((False, None), "tiling"),
    "styles": (([], None), "prompt styles"),
    "subseed_strength": ((0, None), "variation seeds"),
    "seed_resize_from_h": ((-1, 0, None), "resizing the seed from another size"),
    "seed_resize_from_w": ((-1, 0, None), "resizing the seed from another size"),
    "eta": ((None, 0, 1), "a sampler eta"),
    "s_min_uncond": ((None, 0), "sampler overrides (s_*)"),
    "s_churn": ((None, 0), "sampler overrides (s_*)"),
    "s_tmax": ((None, 0), "sampler overrides (s_*)"),
    "s_tmin": ((None, 0), "sampler overrides (s_*)"),
    "s_noise": ((None, 1), "sampler overrides (s_*)"),
    "script_name": ((None, ""), "scripts"),
    "disable_extra_networks": ((False, None), "disabling extra networks"),
    "refiner_checkpoint": ((None, "", "None"), "a refiner"),
    "infotext": ((None, ""), "parameters from an infotext"),
}
TXT2IMG_UNSUPPORTED: Final = {
    **UNSUPPORTED,
    "enable_hr": ((False, None), "hires fix"),
    "firstpass_image": ((None, ""), "a first-pass image"),
}
IMG2IMG_UNSUPPORTED: Final = {
    **UNSUPPORTED,
    "initial_noise_multiplier": ((None, 1), "an initial noise multiplier"),
    "latent_mask": ((None, ""), "a separate latent mask"),
}
# An extension script that is present but off: A1111's convention (args [] or [false]); any other is refused.
DISABLED_SCRIPT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["args"],
    "properties": {"args": {"type": "array", "maxItems": 1, "items": {"const": False}}},
}
# img2img's integer codes, as A1111 numbers them; 3 of each is a mode this service does not have.
RESIZE_MODES: Final[dict[int, limits.ResizeMode]] = {0: "just resize", 1: "crop and resize", 2: "resize and fill"}
# A1111's "fill" (0) pre-fills the masked area from its surroundings; here it starts from the original, as 1 does.
INPAINTING_FILLS: Final[dict[int, limits.InpaintingFill]] = {0: "original", 1: "original", 2: "latent noise"}


def _off(field: str, table: dict[str, tuple[tuple[Any, ...], str]]) -> Any:
    """A field of a feature this service lacks: its A1111 default, and a schema of the values that leave it off."""
    values, words = table[field]
    return Field(default=values[0], description=f"Only off here ({words}).", json_schema_extra={"enum": list(values)})


def _ignored(default: Any = None, why: str = "Accepted and ignored.") -> Any:
    return Field(default=default, description=why)


def _mapped(alias: str, description: str, default: Any = None) -> Any:
    # Any here: the native model checks it (one validation table), and this schema is that field's.
    return Field(default=default, description=description, json_schema_extra=native_schema(alias))


def _spacing_condition(sampler_field: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The native rule in A1111's names: a fixed-timestep sampler takes no sigma schedule."""
    condition = {"properties": {sampler_field: {"enum": list(samplers.FIXED_TIMESTEP_SPELLINGS)}, **extra}}
    return {
        "if": {**condition, "required": [sampler_field]},
        "then": {"properties": {"scheduler": {"enum": [*_SPACING_SPELLINGS, None]}}},
    }


_SCHEMA_RULES: Final[dict[str, Any]] = {
    "allOf": [
        _spacing_condition("sampler_name", {}),
        # sampler_index counts only without sampler_name, as in A1111.
        _spacing_condition("sampler_index", {"sampler_name": {"type": "null"}}),
    ]
}


class Generation(BaseModel):
    """What A1111's txt2img and img2img bodies share; unknown fields are ignored (and logged), as A1111 does."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_SCHEMA_RULES)

    prompt: Any = Field(
        description="What the image should show; not blank here.", json_schema_extra=native_schema("positivePrompt")
    )
    negative_prompt: Any = _mapped("negativePrompt", "What the image should not show.", "")
    width: Any = _mapped("width", "Width in pixels. Unset: the model's default (not A1111's 512).")
    height: Any = _mapped("height", "Height in pixels. Unset: the model's default.")
    steps: Any = _mapped("steps", "Denoising steps. Unset: the model's default.")
    cfg_scale: Any = _mapped("guidanceScale", "Classifier-free guidance.")
    seed: int | None = Field(
        default=-1,
        strict=True,
        ge=-1,
        le=limits.MAX_SEED,
        description="Seed of the first image; -1 (or null) is random. Images get seed, seed+1, ...",
    )
    subseed: int | None = Field(default=-1, strict=True, description="Reported back; variation seeds are off here.")
    sampler_name: Any = _mapped("sampler", "A1111's sampler name (GET /sdapi/v1/samplers). Unset: the model's own.")
    sampler_index: Any = _mapped("sampler", "Deprecated: the sampler when sampler_name is unset.")
    scheduler: Any = Field(
        default=None,
        description="A1111's schedule type (GET /sdapi/v1/schedulers), by name or label. Unset: Automatic.",
        json_schema_extra={"enum": [*SCHEDULER_SPELLINGS, None]},
    )
    batch_size: Any = _mapped("count", "Images per batch (one worker request), seeds seed, seed+1, ...", 1)
    n_iter: int = Field(
        default=1,
        strict=True,
        ge=limits.MIN_COUNT,
        le=limits.MAX_COUNT,
        description="How many batches, one after another; all images' seeds follow on.",
    )
    override_settings: dict[str, Any] | None = Field(
        default=None, description="sd_model_checkpoint (a title or name of /sdapi/v1/sd-models) picks the model."
    )
    override_settings_restore_afterwards: Any = _ignored(True, "Ignored: overrides apply to this request only.")
    do_not_save_samples: bool | None = Field(
        default=False, strict=True, description="true: not kept in the gallery (GET /images)."
    )
    do_not_save_grid: Any = _ignored(False, "Ignored: no grids are made.")
    send_images: bool | None = Field(default=True, strict=True, description="false: `images` is empty.")
    save_images: Any = _ignored(False, "Ignored: images go to the gallery unless do_not_save_samples.")
    alwayson_scripts: dict[str, Any] | None = Field(
        default=None,
        description="Extension scripts: only disabled ones (args [] or [false]); this service has none.",
        json_schema_extra={"additionalProperties": DISABLED_SCRIPT_SCHEMA},
    )
    script_args: Any = _ignored([], "Ignored: scripts are off.")
    refiner_switch_at: Any = _ignored(None, "Ignored: no refiner.")
    comments: Any = _ignored()
    force_task_id: Any = _ignored()
    restore_faces: Any = _off("restore_faces", UNSUPPORTED)
    tiling: Any = _off("tiling", UNSUPPORTED)
    styles: Any = _off("styles", UNSUPPORTED)
    subseed_strength: Any = _off("subseed_strength", UNSUPPORTED)
    seed_resize_from_h: Any = _off("seed_resize_from_h", UNSUPPORTED)
    seed_resize_from_w: Any = _off("seed_resize_from_w", UNSUPPORTED)
    eta: Any = _off("eta", UNSUPPORTED)
    s_min_uncond: Any = _off("s_min_uncond", UNSUPPORTED)
    s_churn: Any = _off("s_churn", UNSUPPORTED)
    s_tmax: Any = _off("s_tmax", UNSUPPORTED)
    s_tmin: Any = _off("s_tmin", UNSUPPORTED)
    s_noise: Any = _off("s_noise", UNSUPPORTED)
    script_name: Any = _off("script_name", UNSUPPORTED)
    disable_extra_networks: Any = _off("disable_extra_networks", UNSUPPORTED)
    refiner_checkpoint: Any = _off("refiner_checkpoint", UNSUPPORTED)
    infotext: Any = _off("infotext", UNSUPPORTED)

    @field_validator("seed", "subseed", "n_iter", mode="before")
    @classmethod
    def _integral_number(cls, value: Any) -> Any:
        return json_integer(value)


class Txt2ImgRequest(Generation):
    """POST /sdapi/v1/txt2img's body (A1111's StableDiffusionTxt2ImgProcessingAPI)."""

    enable_hr: Any = _off("enable_hr", TXT2IMG_UNSUPPORTED)
    firstpass_image: Any = _off("firstpass_image", TXT2IMG_UNSUPPORTED)
    # Hires fix's own settings: A1111 reads them only with enable_hr, which is refused.
    denoising_strength: Any = _ignored(None, "Ignored: used by hires fix only.")
    firstphase_width: Any = _ignored(0)
    firstphase_height: Any = _ignored(0)
    hr_scale: Any = _ignored(2.0)
    hr_upscaler: Any = _ignored()
    hr_second_pass_steps: Any = _ignored(0)
    hr_resize_x: Any = _ignored(0)
    hr_resize_y: Any = _ignored(0)
    hr_checkpoint_name: Any = _ignored()
    hr_sampler_name: Any = _ignored()
    hr_scheduler: Any = _ignored()
    hr_prompt: Any = _ignored("")
    hr_negative_prompt: Any = _ignored("")


class Img2ImgRequest(Generation):
    """POST /sdapi/v1/img2img's body (A1111's StableDiffusionImg2ImgProcessingAPI): one init image, a mask."""

    init_images: list[Any] = Field(
        min_length=1,
        description="The image to start from, base64 or a data: URL; one per request here.",
        json_schema_extra={"maxItems": 1, "items": {**native_schema("initImage"), "type": "string"}},
    )
    mask: Any = _mapped("mask", "Inpainting: white repaints, black keeps (inpainting_mask_invert swaps them).")
    denoising_strength: Any = _mapped("denoisingStrength", "How much of the init image is denoised again.", 0.75)
    mask_blur: Any = _mapped("maskBlur", "The mask's feathering in pixels. Unset: 4.")
    mask_blur_x: Any = _ignored(4, "Ignored: mask_blur sets the blur.")
    mask_blur_y: Any = _ignored(4, "Ignored: mask_blur sets the blur.")
    mask_round: Any = _ignored(True)
    inpainting_fill: int = Field(
        default=0,
        strict=True,
        description="0 fill (runs as original here), 1 original, 2 latent noise; 3 (latent nothing) is not here.",
        json_schema_extra={"enum": list(INPAINTING_FILLS)},
    )
    inpainting_mask_invert: int = Field(
        default=0, strict=True, description="1: the mask's black repaints.", json_schema_extra={"enum": [0, 1]}
    )
    resize_mode: int = Field(
        default=0,
        strict=True,
        description="0 just resize, 1 crop and resize, 2 resize and fill; 3 (latent upscale) is not here.",
        json_schema_extra={"enum": list(RESIZE_MODES)},
    )
    include_init_images: bool | None = Field(
        default=False, strict=True, description="true: the init image is answered after the generated ones."
    )
    inpaint_full_res: Any = _ignored(True, "Ignored: the whole picture is inpainted.")
    inpaint_full_res_padding: Any = _ignored(0, "Ignored: the whole picture is inpainted.")
    image_cfg_scale: Any = _ignored(None, "Ignored: for instruct-pix2pix models only.")
    initial_noise_multiplier: Any = _off("initial_noise_multiplier", IMG2IMG_UNSUPPORTED)
    latent_mask: Any = _off("latent_mask", IMG2IMG_UNSUPPORTED)

    @field_validator("inpainting_fill", "inpainting_mask_invert", "resize_mode", mode="before")
    @classmethod
    def _integral_code(cls, value: Any) -> Any:
        return json_integer(value)


class ImageResponse(BaseModel):
    """txt2img's and img2img's answer, as A1111 gives it."""

    images: list[str] = Field(description="Base64 PNGs (no data: prefix), seed order.")
    parameters: dict[str, Any] = Field(description="The request, as understood.")
    info: str = Field(description="A JSON string: seed, all_seeds, prompt, infotexts, ... as A1111's.")


class A1111ErrorResponse(BaseModel):
    """Every error under /sdapi/v1, in A1111's api middleware shape; `error` is the native code."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "invalid_value",
                    "detail": "width must be a multiple of 8 (got 1001)",
                    "body": "",
                    "errors": "width must be a multiple of 8 (got 1001)",
                }
            ]
        }
    )

    error: ErrorCode
    detail: str = Field(description="The message: the field, the limit and the value.")
    body: str = Field(description="Empty: the request is never echoed back.")
    errors: str = Field(description="The message again (A1111 puts the exception's text here).")


class SdModel(BaseModel):
    """One model, as GET /sdapi/v1/sd-models lists it."""

    title: str = Field(description="`name [hash]` (the name alone while the hash is computed).")
    model_name: str
    hash: str | None
    sha256: str | None = Field(description="Null: the full hash is not published.")
    filename: str = Field(description="The library name (never a server path).")
    config: str | None = None


class SamplerItem(BaseModel):
    """One sampler, as GET /sdapi/v1/samplers lists it."""

    name: str
    aliases: list[str]
    options: dict[str, str]


class SchedulerItem(BaseModel):
    """One schedule type, as GET /sdapi/v1/schedulers lists it."""

    name: str
    label: str
    aliases: list[str] | None = None
    default_rho: float = -1
    need_inner_model: bool = False


class LoraItem(BaseModel):
    """One LoRA, as A1111's Lora extension lists it."""

    name: str
    alias: str
    path: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class ScriptList(BaseModel):
    """GET /sdapi/v1/scripts: no scripts here."""

    txt2img: list[str] = Field(default_factory=list)
    img2img: list[str] = Field(default_factory=list)


class ProgressState(BaseModel):
    """The caller's running job, in A1111's `state` words."""

    skipped: bool = False
    interrupted: bool = False
    stopping_generation: bool = False
    job: str = ""
    job_count: int = Field(default=0, description="Batches (n_iter) of the running job; 0 when idle.")
    job_timestamp: str = "0"
    job_no: int = Field(default=0, description="The batch running now, from 0.")
    sampling_step: int = 0
    sampling_steps: int = 0


class ProgressResponse(BaseModel):
    """GET /sdapi/v1/progress: the caller's own running job (its API key, or its address without keys)."""

    progress: float = Field(description="0 to 1 over all of the job's images.")
    eta_relative: float = Field(description="Seconds left, at the speed so far.")
    state: ProgressState
    current_image: str | None = Field(default=None, description="The latest preview, base64 (a JPEG).")
    textinfo: str | None = None
    current_task: str | None = None


class PngInfoRequest(BaseModel):
    """POST /sdapi/v1/png-info's body."""

    image: str = Field(
        strict=True,
        description="A PNG, JPEG or WebP, base64 or a data: URL.",
        json_schema_extra={"pattern": BASE64_PATTERN, "contentEncoding": "base64"},
    )


class PngInfoResponse(BaseModel):
    """The generation parameters inside an image, as A1111 reads and parses them."""

    info: str = Field(description="The infotext; empty when the image holds none.")
    items: dict[str, Any] = Field(description="The image's other text chunks.")
    parameters: dict[str, Any] = Field(description="The infotext parsed, as A1111's parse_generation_parameters.")


class Memory(BaseModel):
    """GET /sdapi/v1/memory: the gateway's RAM; the GPU is the worker's."""

    ram: dict[str, float]
    cuda: dict[str, Any]
