"""The models in memory: at most WORKER_MAX_LOADED_MODELS, the most recently used kept; engine thread only.

docs/architecture.md, section "The GPU is one serial resource": loading and freeing happen on the engine thread,
between jobs, so no job ever sees a pipeline change under it. Switching frees the old model before the new one
loads, so memory holds one model's weights (by default), not two.
"""

import gc
import json
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import diffusers
import torch

from worker import samplers
from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR, CheckpointError, check_sdxl_checkpoint, check_sdxl_folder
from worker.demo_model import model_files
from worker.errors import InvalidRequest
from worker.loras import LoraFile, LoraSet
from worker.model_library import ModelEntry, ModelLibrary
from worker.model_loader import Defaults, LoadedModel, load_model_at, own_steps_and_guidance
from worker.model_sidecar import ModelSidecar, read_sidecar
from worker.params import GenerationParams
from worker.settings import WorkerSettings
from worker.text_to_image import Pixels, StepHook, TextToImage

log = logging.getLogger(__name__)


class ModelUnavailable(InvalidRequest):
    """The model a request named could not be loaded; the worker keeps serving the others."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def estimate(folder: Path) -> tuple[Defaults, str]:
    """A model's defaults and description from its files, without loading it: its native size, its own scheduler's
    sampler, and its sidecar's steps, guidance and description."""
    unet = _read_json(folder / "unet" / "config.json")
    vae = _read_json(folder / "vae" / "config.json")
    scale = 2 ** (len(vae.get("block_out_channels", [0, 0, 0, 0])) - 1)
    size = int(unet.get("sample_size", 128)) * scale
    scheduler_config = _read_json(folder / "scheduler" / "scheduler_config.json")
    cls = getattr(diffusers, str(scheduler_config.get("_class_name", "")), None)
    sampler = samplers.name_of(cls.from_config(scheduler_config)) if cls is not None else None
    try:
        sidecar = read_sidecar(folder)
    except CheckpointError:
        sidecar = ModelSidecar()  # loading it will say what is wrong; an estimate must not fail /ready
    return Defaults(size, size, *own_steps_and_guidance(sidecar), sampler), sidecar.description


class ResidentModels:
    """Loads models on demand on the engine thread, keeps the most recently used, and runs jobs on them."""

    def __init__(
        self, settings: WorkerSettings, library: ModelLibrary, max_loaded: int, prompt_cache_size: int
    ) -> None:
        self.settings = settings
        self.library = library
        self.max_loaded = max_loaded
        self.prompt_cache_size = prompt_cache_size
        self._loaded: OrderedDict[str, tuple[LoadedModel, TextToImage, LoraSet]] = OrderedDict()
        self._lock = threading.Lock()  # for the handlers' reads (loaded_names, defaults_of)
        # Defaults and descriptions of models not in memory, read from their files once: /ready and every request
        # ask.
        self._estimates: dict[ModelEntry, tuple[Defaults, str]] = {}

    def loaded_names(self) -> set[str]:
        """The models in memory now."""
        with self._lock:
            return set(self._loaded)

    def defaults_of(self, entry: ModelEntry) -> Defaults:
        """The values a request for this model gets when it leaves them unset."""
        return self._about(entry)[0]

    def description_of(self, entry: ModelEntry) -> str:
        """What the model draws and how to prompt it, as its folder's sidecar says; empty when it says nothing."""
        return self._about(entry)[1]

    def _about(self, entry: ModelEntry) -> tuple[Defaults, str]:
        with self._lock:
            resident = self._loaded.get(entry.name)
            known = self._estimates.get(entry)
        if resident is not None:
            return resident[0].defaults, resident[0].description
        if known is None:
            # A single file brings no configs of its own: SDXL base's bundled ones describe it.
            folder = model_files(entry.path) if entry.kind != "file" else BUNDLED_SDXL_CONFIG_DIR
            known = estimate(folder)
            with self._lock:
                self._estimates[entry] = known
        return known

    def load(self, entry: ModelEntry) -> LoadedModel:
        """The model in memory, loading it (and freeing the least recently used beyond the limit) if needed."""
        with self._lock:
            resident = self._loaded.get(entry.name)
            if resident is not None:
                self._loaded.move_to_end(entry.name)
                return resident[0]
        if entry.path is not None:
            # A file that fails the quick checks must not cost the model in memory its place.
            try:
                (check_sdxl_folder if entry.kind == "folder" else check_sdxl_checkpoint)(entry.path)
            except CheckpointError as error:
                raise ModelUnavailable(f"model {entry.name!r} could not be loaded: {error}") from None
        while len(self._loaded) >= self.max_loaded:
            self._free_oldest()
        started = time.perf_counter()
        try:
            model = load_model_at(self.settings, entry.path, entry.name)
        except CheckpointError as error:
            raise ModelUnavailable(f"model {entry.name!r} could not be loaded: {error}") from None
        with self._lock:
            loras = LoraSet(model.pipeline, self.settings.lora_cache_size)
            runner = TextToImage(model.pipeline, self.prompt_cache_size, model.preview)
            self._loaded[entry.name] = (model, runner, loras)
        log.info("loaded %s in %.2fs", entry.name, time.perf_counter() - started)
        return model

    def _free_oldest(self) -> None:
        with self._lock:
            name, (_, _, loras) = self._loaded.popitem(last=False)
        loras.clear()  # adapters hold references into the pipeline's modules
        # The popped pair was the last reference to its pipeline: collect it now, before the next one loads.
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        log.info("freed %s", name)

    def generate(self, batch: list[GenerationParams], on_step: StepHook) -> list[Pixels]:
        """Run a batch (one model, engine.batch_key) on its model, loading it first if needed."""
        first = batch[0]
        self.load(self._entry_of(first))
        with self._lock:
            _, runner, loras = self._loaded[first.model]
        wanted = [(self._lora_of(name), weight) for name, weight in first.loras]
        # A text-encoder LoRA changes the prompt embeddings, so it is part of their cache key.
        text_key = loras.text_encoder_key(wanted)
        with loras.activate(wanted):
            return runner.generate(batch, on_step, text_key)

    def batch_key(self, params: GenerationParams) -> tuple[object, ...]:
        """Jobs that may share a pipeline call: the same model, and TextToImage's key (size, sampler, chunks)."""
        with self._lock:
            runner = next(reversed(self._loaded.values()))[1] if self._loaded else None
        # SDXL checkpoints share CLIP's tokenizers, so any resident model counts a prompt's chunks alike.
        inner = runner.batch_key(params) if runner is not None else ()
        return (params.model, params.loras, *inner)

    def _lora_of(self, name: str) -> LoraFile:
        lora = self.library.lora(name)
        if lora is None:  # a refresh removed it while the job waited
            raise InvalidRequest(f"lora {name!r} is no longer in the library")
        return lora

    def _entry_of(self, params: GenerationParams) -> ModelEntry:
        entry = self.library.get(params.model)
        if entry is None:  # a refresh removed it while the job waited
            raise ModelUnavailable(f"model {params.model!r} is no longer in the library")
        return entry
