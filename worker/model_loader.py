"""Chooses and loads the pipeline: a diffusers folder, a single .safetensors checkpoint, or the demo model."""

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from diffusers import StableDiffusionXLPipeline
from diffusers.utils import logging as diffusers_logging
from genproto.limits import DEFAULT_GUIDANCE_SCALE
from transformers.utils import logging as transformers_logging

import worker.offline  # noqa: F401  (must run before diffusers is imported)
from worker import samplers
from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR, CheckpointError, check_sdxl_checkpoint, check_sdxl_folder
from worker.checkpoint_kind import CheckpointKind, inspect_file, inspect_folder
from worker.demo_model import DEMO_MODEL_DIR, DEMO_MODEL_NAME, model_files
from worker.model_sidecar import ModelSidecar, read_sidecar
from worker.previews import SDXL_PREVIEW, LatentPreview
from worker.settings import WorkerSettings
from worker.speedups import apply_speedups

log = logging.getLogger(__name__)
# Loading bars are noise in a service log.
diffusers_logging.disable_progress_bar()
transformers_logging.disable_progress_bar()

# SDXL base's default, as the original project used it; a folder's img-generator.json may name its own.
SDXL_DEFAULT_STEPS = 30


@dataclass(frozen=True)
class Defaults:
    """The values the worker fills in for a request that leaves them unset."""

    width: int
    height: int
    steps: int
    guidance_scale: float
    # The A1111 name of the model's own scheduler (worker/samplers.py), used when a request names none.
    sampler: str | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A pipeline on its device, with what a person needs to know about it."""

    pipeline: StableDiffusionXLPipeline
    name: str
    is_demo: bool
    device: torch.device
    dtype: torch.dtype
    defaults: Defaults
    # The weights it came from (a file or a diffusers folder); None for the demo model.
    path: Path | None = None
    # What it draws and how to prompt it (its folder's img-generator.json); empty when the folder says nothing.
    description: str = ""
    # Its latent-to-RGB map for the live previews.
    preview: LatentPreview = SDXL_PREVIEW


def own_steps_and_guidance(sidecar: ModelSidecar) -> tuple[int, float]:
    """Steps and guidance for a request that leaves them unset: the model folder's own, else SDXL base's."""
    guidance = DEFAULT_GUIDANCE_SCALE if sidecar.guidance_scale is None else sidecar.guidance_scale
    return sidecar.steps or SDXL_DEFAULT_STEPS, guidance


def choose_device(setting: str) -> torch.device:
    """`auto` is CUDA when present, else CPU; anything else is taken as a torch device string."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CheckpointError(f"WORKER_DEVICE={setting} but torch sees no CUDA device")
    return device


def choose_dtype(setting: str, device: torch.device) -> torch.dtype:
    """`auto` is half precision on CUDA (SDXL is trained for it) and float32 on CPU (fp16 is slow there)."""
    if setting == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    dtype: torch.dtype = getattr(torch, setting)
    return dtype


def resolve_model_path(settings: WorkerSettings) -> Path | None:
    """Where the weights are, or None for the demo model; a configured path that is not there is an error."""
    raw = settings.model_path.strip()
    if raw in ("", "demo"):
        return None
    path = Path(raw).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, settings.model_mount_path / path]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    tried = " or ".join(str(c) for c in candidates)
    raise CheckpointError(f"PY_MODEL_PATH={raw}: no such file or folder (looked for {tried})")


def load_model(settings: WorkerSettings) -> LoadedModel:
    """Load the configured model onto its device; raises CheckpointError with one clear line when it cannot."""
    return load_model_at(settings, resolve_model_path(settings))


def model_name(path: Path | None) -> str:
    """The name a model goes by when it is not in the library: the file's stem, the folder's name, or the demo's."""
    if path is None:
        return DEMO_MODEL_NAME
    return path.name if path.is_dir() else path.stem


def load_model_at(settings: WorkerSettings, path: Path | None, name: str | None = None) -> LoadedModel:
    """Load the model at path (None: the demo model) as `name`; raises CheckpointError with one clear line."""
    device = choose_device(settings.device)
    dtype = choose_dtype(settings.dtype, device)
    try:
        model = _load(settings, path, device, dtype)
        return replace(model, name=name) if name else model
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        # A damaged or mismatched file surfaces deep in diffusers; a person needs the path and the first line.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path or 'the demo model'}: {first_line}") from exc


def _loadable(kind: CheckpointKind) -> CheckpointKind:
    """The kind, or the one line that says what the checkpoint is when it is not SDXL base as bundled."""
    if kind.refusal is not None:
        raise CheckpointError(kind.refusal)
    return kind


def _load(settings: WorkerSettings, path: Path | None, device: torch.device, dtype: torch.dtype) -> LoadedModel:
    if path is None:
        if not (DEMO_MODEL_DIR / "model_index.json").is_file():
            raise CheckpointError(
                f"the demo model is missing from {DEMO_MODEL_DIR} (git checkout models/{DEMO_MODEL_NAME}, "
                "or retrain it: make train-demo)"
            )
        pipeline = StableDiffusionXLPipeline.from_pretrained(DEMO_MODEL_DIR, local_files_only=True, dtype=dtype)
        name, is_demo = DEMO_MODEL_NAME, True
    elif path.is_dir():
        check_sdxl_folder(path)
        kind = _loadable(inspect_folder(path))
        pipeline = StableDiffusionXLPipeline.from_pretrained(path, local_files_only=True, dtype=dtype)
        name, is_demo = model_name(path), False
    else:
        check_sdxl_checkpoint(path)
        kind = _loadable(inspect_file(path))
        # The component configs ship in the repo, so a single file loads with no hub access.
        pipeline = StableDiffusionXLPipeline.from_single_file(
            path, config=str(BUNDLED_SDXL_CONFIG_DIR), local_files_only=True, dtype=dtype
        )
        name, is_demo = model_name(path), False
    sidecar = read_sidecar(model_files(path))
    if path is not None and kind.scheduler_overrides:
        # A v-prediction fine-tune denoises wrongly as epsilon: its scheduler (and every sampler built from its
        # config, worker/samplers.py) must know. Logged, since the file's markers decided it.
        config = pipeline.scheduler.config
        pipeline.scheduler = type(pipeline.scheduler).from_config(config, **kind.scheduler_overrides)
        log.info("%s is %s: scheduler %s", model_name(path), kind.family, kind.scheduler_overrides)
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    applied = apply_speedups(pipeline, settings, device, dtype)
    if applied:
        log.info("speed-ups: %s", ", ".join(applied))
    size = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
    steps, guidance = own_steps_and_guidance(sidecar)
    defaults = Defaults(
        width=size, height=size, steps=steps, guidance_scale=guidance, sampler=samplers.name_of(pipeline.scheduler)
    )
    log.info("loaded %s%s on %s (%s)", name, " (the built-in demo model)" if is_demo else "", device, dtype)
    return LoadedModel(pipeline, name, is_demo, device, dtype, defaults, path, sidecar.description, sidecar.preview)
