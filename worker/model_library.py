"""The model library: the SDXL checkpoints, diffusers folders and LoRAs in WORKER_MODELS_DIR, by name.

docs/architecture.md, section "Names, never paths": a request names a model; only names found by the scan are
looked up, so nothing outside the library is opened because of a request. Hashes are computed on a background
thread (A1111's short hash, cached by worker/model_hash.py), never on a request's path.
"""

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from worker.checkpoint import CheckpointError, check_sdxl_checkpoint, check_sdxl_folder
from worker.demo_model import DEMO_MODEL_NAME
from worker.loras import LoraFile, lora_hash, scan_loras
from worker.model_hash import model_hash

log = logging.getLogger(__name__)

ModelKind = Literal["file", "folder", "demo"]
# Folders of the library that hold no models: LoRAs, caches, the bundled SDXL configs (no weights).
_NOT_MODELS = frozenset({"loras", ".cache"})


@dataclass(frozen=True)
class ModelEntry:
    """One model a request may name: its name, where it is (None: the demo model) and what kind it is."""

    name: str
    path: Path | None
    kind: ModelKind

    @property
    def is_demo(self) -> bool:
        """The built-in demo model."""
        return self.kind == "demo"


def _has_weights(folder: Path) -> bool:
    # The repo's bundled SDXL configs (models/sdxl-base) pass check_sdxl_folder but hold no weights.
    unet = folder / "unet"
    return unet.is_dir() and any(p.suffix in (".safetensors", ".bin") for p in unet.iterdir())


def scan(root: Path) -> dict[str, ModelEntry]:
    """Every SDXL model under root by name: `.safetensors` files by stem, diffusers folders by their path."""
    found: dict[str, ModelEntry] = {}
    if not root.is_dir():
        return found
    resolved_root = root.resolve()
    seen: set[Path] = set()

    def visit(folder: Path) -> None:
        # A symlink back to a folder already walked (a loop) is walked once.
        if folder.resolve() in seen:
            return
        seen.add(folder.resolve())
        for child in sorted(folder.iterdir()):
            if child.name in _NOT_MODELS or child.name.startswith("."):
                continue
            if not child.resolve().is_relative_to(resolved_root):  # a symlink out of the library
                continue
            name = child.relative_to(root).with_suffix("").as_posix() if child.is_file() else ""
            if child.is_file() and child.suffix == ".safetensors":
                try:
                    check_sdxl_checkpoint(child)
                except CheckpointError as error:
                    log.warning("not in the library: %s", error)
                    continue
                found.setdefault(name, ModelEntry(name, child, "file"))
            elif child.is_dir() and (child / "model_index.json").is_file():
                try:
                    check_sdxl_folder(child)
                except CheckpointError as error:
                    log.warning("not in the library: %s", error)
                    continue
                if _has_weights(child):
                    folder_name = child.relative_to(root).as_posix()
                    found.setdefault(folder_name, ModelEntry(folder_name, child, "folder"))
            elif child.is_dir():
                visit(child)

    visit(root)
    return found


class ModelLibrary:
    """The scanned models, the default one, and their hashes as the background thread finds them."""

    def __init__(self, root: Path, default: ModelEntry, *, hashes: bool = True) -> None:
        self.root = root
        self._default = default
        self._hashes_wanted = hashes
        self._lock = threading.Lock()
        self._hashes: dict[Path, str] = {}
        self._entries: dict[str, ModelEntry] = {}
        self._loras: dict[str, LoraFile] = {}
        self._lora_hashes: dict[Path, str] = {}
        self.refresh()

    def refresh(self) -> list[ModelEntry]:
        """Scan the library again; the demo model and the configured default are always listed."""
        entries = scan(self.root)
        # Over the scan's entry: the repo's own models/ holds the demo's folder, which is the demo, not a folder.
        entries[DEMO_MODEL_NAME] = ModelEntry(DEMO_MODEL_NAME, None, "demo")
        entries.setdefault(self._default.name, self._default)
        loras = scan_loras(self.root / "loras")
        with self._lock:
            self._entries = entries
            self._loras = loras
        if self._hashes_wanted:
            threading.Thread(target=self._hash_all, name="model-hashes", daemon=True).start()
        return self.entries()

    def entries(self) -> list[ModelEntry]:
        """Every model, by name."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.name.casefold())

    def get(self, name: str) -> ModelEntry | None:
        """The model a request names, or None: only scanned names are ever looked up."""
        with self._lock:
            return self._entries.get(name)

    @property
    def default(self) -> ModelEntry:
        """The model requests without `model` get."""
        with self._lock:
            return self._default

    def set_default(self, name: str) -> ModelEntry | None:
        """Make a listed model the default; None when the name is not listed."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None:
                self._default = entry
            return entry

    def loras(self) -> list[LoraFile]:
        """Every LoRA of loras/, by name."""
        with self._lock:
            return sorted(self._loras.values(), key=lambda lora: lora.name.casefold())

    def lora(self, name: str) -> LoraFile | None:
        """The LoRA a request names, or None: only scanned names are looked up."""
        with self._lock:
            return self._loras.get(name)

    def lora_hash_of(self, lora: LoraFile) -> str | None:
        """A1111's short hash of a LoRA once the background thread has it."""
        with self._lock:
            return self._lora_hashes.get(lora.path)

    def hash_of(self, entry: ModelEntry) -> str | None:
        """A1111's short hash of a file model once the background thread has it; None until then (and for folders)."""
        if entry.path is None:
            return None
        with self._lock:
            return self._hashes.get(entry.path)

    def _hash_all(self) -> None:
        for entry in self.entries():
            if entry.kind != "file" or entry.path is None or self.hash_of(entry) is not None:
                continue
            try:
                found = model_hash(entry.path)
            except OSError as error:
                log.warning("cannot hash %s: %s", entry.path, error)
                continue
            if found is not None:
                with self._lock:
                    self._hashes[entry.path] = found
        for lora in self.loras():
            if self.lora_hash_of(lora) is not None:
                continue
            try:
                short = lora_hash(lora.path)
            except OSError as error:
                log.warning("cannot hash %s: %s", lora.path, error)
                continue
            with self._lock:
                self._lora_hashes[lora.path] = short
