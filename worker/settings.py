"""Worker settings, read from the environment and the repo-root `.env` (environment wins)."""

import socket
from pathlib import Path
from typing import Literal

from genproto import limits
from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class WorkerSettings(BaseSettings):
    """Everything the worker can be told; names without prefix are the original project's."""

    model_config = SettingsConfigDict(env_file=REPO_ROOT / ".env", extra="ignore", populate_by_name=True)

    port: int = Field(50051, ge=1, le=65535, alias="PY_PORT", description="gRPC port to listen on.")
    host: str = Field("[::]", alias="WORKER_HOST", description="Address to bind, e.g. [::] or 127.0.0.1.")
    model_path: str = Field(
        "",
        alias="PY_MODEL_PATH",
        description="A .safetensors SDXL checkpoint or a diffusers folder; empty: the built-in demo model "
        "(models/demo-shapes).",
    )
    model_mount_path: Path = Field(
        Path("/models"), alias="MODEL_MOUNT_PATH", description="Second place a relative PY_MODEL_PATH is looked up."
    )
    models_dir: Path | None = Field(
        None,
        alias="WORKER_MODELS_DIR",
        description="The model library (checkpoints, diffusers folders, loras/); unset: MODEL_MOUNT_PATH where it "
        "exists (compose, Kubernetes), else the repo's models/.",
    )
    lora_cache_size: int = Field(
        8, ge=1, le=256, alias="WORKER_LORA_CACHE_SIZE", description="LoRA adapters kept loaded per model (LRU)."
    )
    max_loaded_models: int = Field(
        1, ge=1, le=16, alias="WORKER_MAX_LOADED_MODELS", description="Models kept in memory (most recently used)."
    )
    device: str = Field("auto", alias="WORKER_DEVICE", description="auto (CUDA when present), cpu, cuda or cuda:N.")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", alias="WORKER_DTYPE", description="auto: float16 on CUDA, float32 on CPU."
    )
    queue_size: int = Field(16, ge=1, le=1024, alias="WORKER_QUEUE_SIZE", description="Requests that may wait.")
    drain_grace_seconds: float = Field(
        30.0, gt=0, alias="WORKER_DRAIN_GRACE_SECONDS", description="On SIGTERM, how long accepted work may run."
    )
    warmup: bool = Field(True, alias="WORKER_WARMUP", description="Run one generation before reporting SERVING.")
    png_encoder: Literal["fpng", "pillow"] = Field(
        "fpng", alias="WORKER_PNG_ENCODER", description="fpng (fast) or pillow; both lossless, same pixels."
    )
    png_compress_level: int = Field(
        1, ge=0, le=9, alias="WORKER_PNG_COMPRESS_LEVEL", description="zlib level when WORKER_PNG_ENCODER=pillow."
    )
    lossy_quality: int = Field(
        90, ge=1, le=100, alias="WORKER_LOSSY_QUALITY", description="Quality of JPEG and WebP answers."
    )
    preview_every_steps: int = Field(
        5, ge=0, le=150, alias="WORKER_PREVIEW_EVERY_STEPS", description="Streamed previews every N steps; 0: none."
    )
    vae_path: str = Field(
        "", alias="WORKER_VAE_PATH", description="A diffusers VAE folder that is fp16-safe (no fp32 decode)."
    )
    channels_last: Literal["auto", "true", "false"] = Field(
        "auto", alias="WORKER_CHANNELS_LAST", description="NHWC memory format for UNet and VAE; auto: on CUDA."
    )
    fuse_qkv: Literal["auto", "true", "false"] = Field(
        "auto", alias="WORKER_FUSE_QKV", description="Fused attention QKV projections; auto: on CUDA."
    )
    compile: bool = Field(False, alias="WORKER_COMPILE", description="torch.compile UNet and VAE decode.")
    compile_mode: str = Field("max-autotune-no-cudagraphs", alias="WORKER_COMPILE_MODE")
    compile_cache_dir: Path = Field(
        REPO_ROOT / "models" / ".cache" / "inductor",
        alias="WORKER_COMPILE_CACHE_DIR",
        description="Where compiled kernels are kept between starts.",
    )
    max_batch: int = Field(
        1,
        ge=1,
        le=64,
        alias="WORKER_MAX_BATCH",
        description="Queued requests of the same size/steps/guidance run as one batch, up to this many.",
    )
    batch_wait_ms: float = Field(
        0.0, ge=0, le=1000, alias="WORKER_BATCH_WAIT_MS", description="How long a batch waits for companions."
    )
    max_count: int = Field(
        limits.MAX_COUNT,
        ge=limits.MIN_COUNT,
        le=limits.MAX_COUNT,
        alias="WORKER_MAX_COUNT",
        description="The most images one request may ask for (count).",
    )
    image_metadata: bool = Field(
        True,
        alias="WORKER_IMAGE_METADATA",
        description="Write the generation parameters (A1111 infotext: prompts included) inside every image file.",
    )
    prompt_cache_size: int = Field(
        64, ge=0, le=100_000, alias="WORKER_PROMPT_CACHE_SIZE", description="Prompt pairs whose embeddings are kept."
    )
    worker_id: str = Field(
        "", alias="WORKER_ID", description="This worker's name in answers and logs; empty: host:port."
    )
    torch_threads: int = Field(
        0,
        ge=0,
        le=1024,
        alias="WORKER_TORCH_THREADS",
        description="CPU threads torch may use; 0: torch's default. Several CPU workers on one machine: 1 each.",
    )
    max_concurrent_rpcs: int = Field(
        0, ge=0, alias="WORKER_MAX_CONCURRENT_RPCS", description="RPCs at once; 0: queue size + 8."
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, alias="WORKER_METRICS_PORT", description="Prometheus /metrics port; 0: off."
    )
    metrics_host: str = Field("0.0.0.0", alias="WORKER_METRICS_HOST")
    tls_cert: Path | None = Field(None, alias="WORKER_TLS_CERT", description="Server certificate (PEM): TLS on.")
    tls_key: Path | None = Field(None, alias="WORKER_TLS_KEY", description="The certificate's private key (PEM).")
    tls_client_ca: Path | None = Field(
        None, alias="WORKER_TLS_CLIENT_CA", description="CA of client certificates: mTLS, clients without one refused."
    )
    log_level: str = Field("INFO", alias="WORKER_LOG_LEVEL")
    log_format: Literal["text", "json"] = Field("text", alias="WORKER_LOG_FORMAT")

    @model_validator(mode="after")
    def _tls_complete(self) -> "WorkerSettings":
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("WORKER_TLS_CERT and WORKER_TLS_KEY go together: set both or neither")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("WORKER_TLS_CLIENT_CA needs WORKER_TLS_CERT and WORKER_TLS_KEY (mTLS is TLS first)")
        for path in (self.tls_cert, self.tls_key, self.tls_client_ca):
            if path is not None and not path.is_file():
                raise ValueError(f"{path}: no such file")
        return self


def library_dir(settings: WorkerSettings) -> Path:
    """Where the model library is: WORKER_MODELS_DIR, else the mounted models (containers), else models/."""
    if settings.models_dir is not None:
        return settings.models_dir
    return settings.model_mount_path if settings.model_mount_path.is_dir() else REPO_ROOT / "models"


def worker_name(settings: WorkerSettings) -> str:
    """WORKER_ID, or host:port: unique among the workers behind one gateway (replicas have their own hosts)."""
    return settings.worker_id or f"{socket.gethostname()}:{settings.port}"


def describe_invalid_settings(exc: ValidationError) -> str:
    """One line per bad setting, naming the variable and the value, for a start-up that must stop."""
    lines = [
        f"invalid setting {'.'.join(map(str, e['loc']))}={e['input']!r}: {e['msg']}"
        if e["loc"]
        else f"invalid settings: {e['msg']}"
        for e in exc.errors()
    ]
    return "\n".join(lines)
