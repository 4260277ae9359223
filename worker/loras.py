"""The LoRA library (every `.safetensors` under the library's loras/ folder, by name) and one pipeline's adapters.

docs/architecture.md, section "Names, never paths": a request names a LoRA found by `scan_loras`; nothing outside
the folder is opened because of a request. `LoraSet` loads a job's LoRAs into the pipeline (kept in an LRU), fuses
them into the weights for the job and puts the weights back exactly afterwards; engine thread only, except `check`
and `text_encoder_key`, which read only the file's header and tables built at start and may run on any thread.
"""

import contextlib
import functools
import hashlib
import json
import logging
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import StableDiffusionXLPipeline
from diffusers.utils import convert_state_dict_to_diffusers, convert_state_dict_to_peft, convert_unet_state_dict_to_peft
from genproto.limits import MAX_NAME_CHARS
from peft import PeftConfig, inject_adapter_in_model, set_peft_model_state_dict
from peft.tuners.tuners_utils import BaseTunerLayer
from safetensors import safe_open

import worker.offline  # noqa: F401  (before diffusers loads anything)
from worker.errors import InvalidRequest

log = logging.getLogger(__name__)

SHORT_HASH_LENGTH = 12
_BLOCK_SIZE = 1024 * 1024
# safetensors itself refuses a larger header; a bigger length field means the file is not one.
_MAX_HEADER_BYTES = 100_000_000
_COMPONENTS = ("unet", "text_encoder", "text_encoder_2")
_TEXT_ENCODERS = frozenset({"text_encoder", "text_encoder_2"})
# A LoRA weight in PEFT's names, as diffusers hands them to PEFT: `<layer>.lora_A.weight` and its kin.
_PEFT_KEY = re.compile(r"(.+)\.(lora_A\.weight|lora_B\.weight|lora_B\.bias|lora_magnitude_vector(?:\.weight)?)")

# Several adapters in one model, and deleting the active one, are what this module does on purpose.
warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute", category=UserWarning)
warnings.filterwarnings("ignore", message="Adapter .* was active which is now deleted", category=UserWarning)
warnings.filterwarnings("ignore", message="Already unmerged", category=UserWarning)


class _NoMissingComponentNotice(logging.Filter):
    """Drops diffusers' warning, on every UNet-only LoRA, that it has no text-encoder keys."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No LoRA keys associated to")


logging.getLogger("diffusers.loaders.lora_base").addFilter(_NoMissingComponentNotice())


@dataclass(frozen=True)
class LoraFile:
    """One LoRA of the library: the name requests use, where it is, and what A1111 shows for it."""

    name: str
    path: Path
    # Relative to the library (loras_dir.parent), as ListLoras shows it: never the server's absolute path.
    relative: str
    # A1111's alias (extensions-builtin/Lora/network.py): the `ss_output_name` it was trained under, else the stem.
    alias: str
    size: int
    mtime_ns: int


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    """A .safetensors file's JSON header and the offset its tensor bytes start at; ValueError when it is none."""
    with path.open("rb") as file:
        prefix = file.read(8)
        length = int.from_bytes(prefix, "little")
        if len(prefix) < 8 or length > _MAX_HEADER_BYTES:
            raise ValueError("not a .safetensors file (no header)")
        raw = file.read(length)
    if len(raw) < length:
        raise ValueError("not a .safetensors file (its header is cut short)")
    try:
        header = json.loads(raw)
    except ValueError:  # JSON or UTF-8 that does not decode
        raise ValueError("not a .safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ValueError("not a .safetensors file (its header is not a JSON object)")
    return header, 8 + length


def _metadata(header: dict[str, Any]) -> dict[str, str]:
    metadata = header.get("__metadata__")
    return {k: v for k, v in metadata.items() if isinstance(v, str)} if isinstance(metadata, dict) else {}


def _entry(loras_dir: Path, path: Path) -> LoraFile | None:
    name = path.relative_to(loras_dir).with_suffix("").as_posix()
    if len(name) > MAX_NAME_CHARS:  # no request could name it
        log.warning("not in the LoRA library: %s (a name over %d characters)", path, MAX_NAME_CHARS)
        return None
    try:
        header, _ = _read_header(path)
        stat = path.stat()
    except (OSError, ValueError) as error:
        log.warning("not in the LoRA library: %s (%s)", path, error)
        return None
    alias = _metadata(header).get("ss_output_name") or path.stem
    relative = path.relative_to(loras_dir.parent).as_posix()
    return LoraFile(name, path, relative, alias, stat.st_size, stat.st_mtime_ns)


def scan_loras(loras_dir: Path) -> dict[str, LoraFile]:
    """Every `*.safetensors` under loras_dir (sub-folders too) by its name: the path below loras_dir, no suffix."""
    found: dict[str, LoraFile] = {}
    if not loras_dir.is_dir():
        return found
    root = loras_dir.resolve()
    walked: set[Path] = set()

    def visit(folder: Path) -> None:
        real = folder.resolve()
        if real in walked:  # a link back to a folder already walked
            return
        walked.add(real)
        for child in sorted(folder.iterdir()):
            if child.name.startswith("."):
                continue
            if not child.resolve().is_relative_to(root):  # a symlink out of the folder: never followed
                log.warning("not in the LoRA library: %s (it links outside %s)", child, loras_dir)
                continue
            if child.is_dir():
                visit(child)
            elif child.is_file() and child.suffix.lower() == ".safetensors":
                entry = _entry(loras_dir, child)
                if entry is not None and entry.name not in found:  # x.safetensors and x.SAFETENSORS: the first
                    found[entry.name] = entry

    visit(loras_dir)
    return found


_hashes: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def _addnet_hash(path: Path, offset: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        file.seek(offset)
        while block := file.read(_BLOCK_SIZE):
            digest.update(block)
    return digest.hexdigest()


def lora_hash(path: Path) -> str:
    """A1111's short hash of a LoRA, as its infotext's `Lora hashes:` shows it (12 hex digits); cached per file."""
    # extensions-builtin/Lora/network.py (NetworkOnDisk): the hash is the `sshs_model_hash` metadata kohya's trainer
    # writes, else hashes.sha256(filename, "lora/" + name, use_addnet_hash=True) for a .safetensors, and
    # `shorthash = hash[0:12]`. modules/hashes.py `addnet_hash_safetensors` (kohya's, from sd-scripts): sha256 of
    # the bytes after the 8-byte length and the JSON header, read in 1 MiB blocks, so editing metadata keeps it.
    absolute = path.resolve()
    stat = absolute.stat()
    key = (str(absolute), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        digest = _hashes.get(key)
        if digest is None:
            header, offset = _read_header(absolute)
            digest = _metadata(header).get("sshs_model_hash") or _addnet_hash(absolute, offset)
            _hashes[key] = digest
    return digest[:SHORT_HASH_LENGTH]


# A parameter and a copy of it as it was before a LoRA was merged into it.
_Saved = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class _Layer:
    """What a LoRA must fit: a Linear layer's (or a Conv2d's) inputs, outputs and kernel."""

    inputs: int
    outputs: int
    kernel: tuple[int, ...]  # () for a Linear layer

    def __str__(self) -> str:
        if not self.kernel:
            return f"Linear {self.inputs}->{self.outputs}"
        return f"Conv2d {self.inputs}->{self.outputs} {'x'.join(map(str, self.kernel))}"


@dataclass(frozen=True)
class _Verdict:
    """What the check found in one file: the parts it touches, or why it cannot be used."""

    components: frozenset[str]
    unusable: str | None = None
    misfit: str | None = None


def _layers(model: torch.nn.Module) -> dict[str, _Layer]:
    """Every Linear and Conv2d of a model by its path, as a LoRA names it (PEFT's wrappers seen through)."""
    model = getattr(model, "_orig_mod", model)  # torch.compile's wrapper
    table: dict[str, _Layer] = {}
    for path, module in model.named_modules():
        if any(part == "base_layer" or part.startswith("lora_") for part in path.split(".")):
            continue
        base = getattr(module, "base_layer", module)  # a layer an adapter already wraps
        if isinstance(base, torch.nn.Linear):
            table[path] = _Layer(base.in_features, base.out_features, ())
        elif isinstance(base, torch.nn.Conv2d):
            table[path] = _Layer(base.in_channels, base.out_channels, tuple(base.kernel_size))
    return table


def _shapes_only(path: Path, header: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The file's tensors as meta tensors of the right shapes, but for scalars (kohya's alphas), which are read."""
    state: dict[str, torch.Tensor] = {}
    scalars = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        shape = info.get("shape") if isinstance(info, dict) else None
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"not a .safetensors file (no shape for {key!r})")
        state[key] = torch.empty(shape, device="meta")
        if len(shape) <= 1 and (not shape or shape[0] == 1):
            scalars.append(key)
    if scalars:
        with safe_open(str(path), framework="pt") as file:
            for key in scalars:
                state[key] = file.get_tensor(key)
    return state


def _fit(component: str, weights: dict[str, torch.Tensor], table: dict[str, _Layer]) -> tuple[list[str], int]:
    """What does not fit in one component's LoRA weights (PEFT names), and how many layers they touch."""
    problems: list[str] = []
    by_layer: dict[str, dict[str, tuple[int, ...]]] = {}
    for key, tensor in sorted(weights.items()):
        match = _PEFT_KEY.fullmatch(key)
        if match is None:  # diffusers would drop it with a warning: a LoRA silently half applied
            raise ValueError(f"{component}.{key}: a weight diffusers would leave out")
        by_layer.setdefault(match.group(1), {})[match.group(2).removesuffix(".weight")] = tuple(tensor.shape)
    for path, parts in by_layer.items():
        where = f"{component}.{path}"
        layer = table.get(path)
        if layer is None:
            problems.append(f"{where}: no such layer")
            continue
        down, up = parts.get("lora_A"), parts.get("lora_B")
        if down is None or up is None:
            problems.append(f"{where}: lora_A and lora_B must come together")
            continue
        # PEFT's LoRA of a Linear layer: A (r, inputs), B (outputs, r); of a Conv2d: A (r, inputs, kh, kw) with the
        # layer's kernel, B (outputs, r, 1, 1).
        fits = (
            down[1:] == (layer.inputs, *layer.kernel)
            and up == (layer.outputs, down[0], *((1, 1) if layer.kernel else ()))
            and all(parts[p] == (layer.outputs,) for p in ("lora_B.bias", "lora_magnitude_vector") if p in parts)
        )
        if not fits:
            problems.append(f"{where}: lora_A {list(down)} and lora_B {list(up)} do not fit its {layer}")
    return problems, len(by_layer)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def _load_adapter_with_peft(
    model: Any,
    adapter_name: str,
    adapter_state_dict: dict[str, torch.Tensor],
    peft_config: PeftConfig,
    **_: Any,
) -> None:
    """transformers' `load_adapter`, as diffusers calls it for a text encoder, done with PEFT's own functions."""
    # transformers >= 5 refuses its load_adapter below PEFT 0.22 (integrations/peft.py MIN_PEFT_VERSION), which the
    # package index does not have; diffusers only converts the keys and hands them over, so PEFT can take them as it
    # does for the UNet (diffusers/loaders/peft.py load_lora_adapter).
    inject_adapter_in_model(peft_config, model, adapter_name=adapter_name, state_dict=adapter_state_dict)
    result: Any = set_peft_model_state_dict(model, adapter_state_dict, adapter_name)  # torch's load_state_dict
    unexpected = [key for key in result.unexpected_keys if "lora_" in key]
    if unexpected:
        raise ValueError(f"weights for no layer of {type(model).__name__}: {unexpected[0]}")
    # What transformers' load_adapter records, so diffusers' set_adapters and delete_adapters see the adapter.
    if not getattr(model, "_hf_peft_config_loaded", False) or not hasattr(model, "peft_config"):
        model.peft_config = {}
        model._hf_peft_config_loaded = True
    model.peft_config[adapter_name] = peft_config


@contextlib.contextmanager
def _text_encoders_through_peft(pipeline: StableDiffusionXLPipeline) -> Iterator[None]:
    encoders = [e for e in (pipeline.text_encoder, pipeline.text_encoder_2) if e is not None]
    for encoder in encoders:
        encoder.load_adapter = functools.partial(_load_adapter_with_peft, encoder)
    try:
        yield
    finally:
        for encoder in encoders:
            del encoder.load_adapter  # the class's own method again


def _adapter_name(lora: LoraFile) -> str:
    """A PEFT adapter name (no dots) unique to this file's contents as the scan saw them."""
    digest = hashlib.sha256(f"{lora.path}\0{lora.size}\0{lora.mtime_ns}".encode()).hexdigest()[:12]
    return f"lora_{re.sub(r'[^0-9A-Za-z]+', '_', lora.name)[-40:]}_{digest}"


def _plan(loras: Sequence[tuple[LoraFile, float]]) -> list[tuple[LoraFile, float]]:
    """One entry per file, weights of repeats added (A1111 applies a repeated tag twice), weight 0 dropped."""
    weights: dict[str, tuple[LoraFile, float]] = {}
    for lora, weight in loras:
        key = _adapter_name(lora)
        weights[key] = (lora, weights[key][1] + weight if key in weights else weight)
    # A weight of 0 adds exactly nothing; leaving it out keeps the job's pixels those of a pipeline without it.
    return [(lora, weight) for lora, weight in weights.values() if weight != 0]


class LoraSet:
    """One pipeline's LoRA adapters (one LoraSet per pipeline): checked, kept in an LRU, active for one job."""

    def __init__(self, pipeline: StableDiffusionXLPipeline, cache_size: int, *, fuse: bool = True) -> None:
        self._pipeline = pipeline
        self.cache_size = cache_size
        # Fused per job (scripts/bench_loras.py measured it faster on the demo model), with the weights restored
        # exactly afterwards; unfused, each touched layer runs its LoRA's two small matmuls at every step.
        self.fuse = fuse
        self._unet_config = pipeline.unet.config
        # Built once, at start: `check` may run on any thread while the engine thread wraps layers in adapters.
        self._tables = {c: _layers(getattr(pipeline, c)) for c in _COMPONENTS if getattr(pipeline, c) is not None}
        # transformers >= 5.6 flattens CLIPTextModel; diffusers then drops the `text_model.` prefix of the keys.
        self._flat = {c: not hasattr(getattr(pipeline, c), "text_model") for c in self._tables if c != "unet"}
        self._verdicts: dict[tuple[str, int, int], _Verdict] = {}
        self._lock = threading.Lock()
        self._loaded: OrderedDict[str, LoraFile] = OrderedDict()

    def clear(self) -> None:
        """Unload every adapter (before the pipeline goes away, or between tests)."""
        self._evict(keep=frozenset(), room=self.cache_size)

    @property
    def loaded(self) -> list[str]:
        """The names of the LoRAs loaded now, least recently used first."""
        return [lora.name for lora in self._loaded.values()]

    def check(self, name: str, path: Path) -> None:
        """Raise InvalidRequest naming the LoRA when it cannot be loaded or its layers do not fit this model."""
        verdict = self._verdict(path)
        if verdict.unusable is not None:
            raise InvalidRequest(f"lora '{name}' cannot be loaded ({verdict.unusable})")
        if verdict.misfit is not None:
            raise InvalidRequest(f"lora '{name}' is not for this model ({verdict.misfit})")

    def text_encoder_key(self, loras: Sequence[tuple[LoraFile, float]]) -> tuple[tuple[str, int, int, float], ...]:
        """What a prompt-embedding cache key must add for a job's LoRAs: () when none touches a text encoder."""
        key = []
        for lora, weight in _plan(loras):
            self.check(lora.name, lora.path)
            if self._verdict(lora.path).components & _TEXT_ENCODERS:
                key.append((lora.name, lora.size, lora.mtime_ns, weight))
        return tuple(key)

    @contextlib.contextmanager
    def activate(self, loras: Sequence[tuple[LoraFile, float]]) -> Iterator[None]:
        """The job's LoRAs at their weights inside the block; after it, the pipeline's own weights, bit for bit."""
        plan = _plan(loras)
        if not plan:
            yield
            return
        for lora, _ in plan:
            self.check(lora.name, lora.path)
        touched = frozenset().union(*(self._verdict(lora.path).components for lora, _ in plan))
        with torch.inference_mode(False), torch.no_grad():
            names = self._load_all([lora for lora, _ in plan])
        processors = self._unfuse_attention() if "unet" in touched else None
        fused: list[tuple[BaseTunerLayer, list[_Saved]]] = []
        try:
            with torch.inference_mode(False), torch.no_grad():
                self._pipeline.enable_lora()
                self._pipeline.set_adapters(names, adapter_weights=[weight for _, weight in plan])
                if self.fuse:
                    self._fuse(names, touched, fused)
            yield
        finally:
            with torch.inference_mode(False), torch.no_grad():
                self._unfuse(fused)
                self._pipeline.disable_lora()
                if processors is not None:
                    self._pipeline.unet.set_attn_processor(processors)
                self._evict(keep=frozenset(), room=0)

    def _verdict(self, path: Path) -> _Verdict:
        try:
            stat = path.stat()
        except OSError as error:
            return _Verdict(frozenset(), unusable=_first_line(error))
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._judge(path)
            with self._lock:
                self._verdicts[key] = verdict
        return verdict

    def _judge(self, path: Path) -> _Verdict:
        """Convert the file's names as load_lora_weights would (from shapes alone) and match them to the layers."""
        try:
            header, _ = _read_header(path)
            state = _shapes_only(path, header)
        except (OSError, ValueError) as error:
            return _Verdict(frozenset(), unusable=_first_line(error))
        if any("dora_scale" in key for key in state):  # diffusers drops kohya's DoRA scales and loads the rest
            return _Verdict(frozenset(), unusable="kohya's DoRA (dora_scale) is not supported")
        try:
            converted, _ = self._pipeline.lora_state_dict(state, unet_config=self._unet_config)
            parts = self._split(converted)
        except (ValueError, KeyError, IndexError) as error:
            return _Verdict(frozenset(), unusable=f"not a LoRA layout diffusers reads: {_first_line(error)}")
        problems: list[str] = []
        layers = 0
        try:
            for component in (c for c in _COMPONENTS if c in parts):  # the UNet's misfits first: the telling ones
                found, count = _fit(component, parts[component], self._tables.get(component, {}))
                problems += found
                layers += count
        except ValueError as error:
            return _Verdict(frozenset(), unusable=_first_line(error))
        components = frozenset(c for c, weights in parts.items() if weights)
        if not components:
            return _Verdict(components, misfit="it holds no LoRA weights")
        if not problems:
            return _Verdict(components)
        why = problems[0] + (f"; {len(problems)} of {layers} layers do not fit" if len(problems) > 1 else "")
        trained_on = _metadata(header).get("ss_base_model_version", "")
        if trained_on and not trained_on.startswith("sdxl"):
            why += f"; trained on {trained_on}"
        return _Verdict(components, misfit=why)

    def _split(self, converted: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
        """Per component, the keys as diffusers hands them to PEFT (diffusers/loaders/peft.py, lora_base.py)."""
        if not all("lora" in key for key in converted):  # load_lora_weights refuses such a file as a whole
            raise ValueError(f"{next(k for k in converted if 'lora' not in k)!r} is not a LoRA weight")
        parts: dict[str, dict[str, torch.Tensor]] = {}
        for key, tensor in converted.items():
            component, _, rest = key.partition(".")
            if component not in _COMPONENTS or not rest:
                raise ValueError(f"{key!r} names no part of an SDXL pipeline")
            parts.setdefault(component, {})[rest] = tensor
        for component, weights in parts.items():
            if component == "unet":
                if "lora_A" not in next(iter(weights)):
                    parts[component] = convert_unet_state_dict_to_peft(weights)
            else:
                weights = convert_state_dict_to_peft(convert_state_dict_to_diffusers(weights))
                if self._flat.get(component, False):
                    weights = {k.removeprefix("text_model."): v for k, v in weights.items()}
                parts[component] = weights
        return parts

    def _load_all(self, loras: list[LoraFile]) -> list[str]:
        names = [_adapter_name(lora) for lora in loras]
        self._evict(keep=frozenset(names), room=sum(name not in self._loaded for name in names))
        for name, lora in zip(names, loras, strict=True):
            if name in self._loaded:
                self._loaded.move_to_end(name)
                continue
            try:
                with _text_encoders_through_peft(self._pipeline):
                    self._pipeline.load_lora_weights(str(lora.path), adapter_name=name)
            except (OSError, ValueError) as error:  # it passed the check: the file changed or is damaged
                self._pipeline.delete_adapters([name])  # whatever part of it got in
                raise InvalidRequest(f"lora '{lora.name}' could not be loaded ({_first_line(error)})") from error
            except BaseException:
                self._pipeline.delete_adapters([name])
                raise
            self._loaded[name] = lora
            log.info("loaded lora %s (%d loaded)", lora.name, len(self._loaded))
        return names

    def _evict(self, keep: frozenset[str], room: int) -> None:
        """Delete least recently used adapters (never those in keep) until `room` more fit in cache_size."""
        for name in list(self._loaded):
            if len(self._loaded) + room <= self.cache_size:
                break
            if name in keep:
                continue
            lora = self._loaded.pop(name)
            self._pipeline.delete_adapters([name])
            log.info("unloaded lora %s (least recently used)", lora.name)

    def _tuner_layers(self, components: frozenset[str]) -> Iterator[BaseTunerLayer]:
        for component in sorted(components):
            for module in getattr(self._pipeline, component).modules():
                if isinstance(module, BaseTunerLayer):
                    yield module

    def _fuse(
        self, names: list[str], components: frozenset[str], fused: list[tuple[BaseTunerLayer, list[_Saved]]]
    ) -> None:
        """Merge the job's adapters into the weights they touch, noting each layer and a copy of its weights first."""
        # diffusers' fuse_lora/unfuse_lora computes W + d, then W + d - d, which is not W in floating point: every
        # touched weight stays a few ulps off for all later jobs. A1111 keeps a copy of each weight it patches
        # (extensions-builtin/Lora/networks.py, network_weights_backup) and restores it; so does this, calling
        # PEFT's merge (what fuse_lora calls per layer) on the layers it saved.
        for layer in self._tuner_layers(components):
            wanted = [name for name in names if name in getattr(layer, "lora_A", {})]
            if not wanted:
                continue
            base = layer.get_base_layer()
            params = [p for p in (base.weight, getattr(base, "bias", None)) if isinstance(p, torch.Tensor)]
            fused.append((layer, [(p, p.detach().clone()) for p in params]))
            layer.merge(adapter_names=wanted)

    def _unfuse(self, fused: list[tuple[BaseTunerLayer, list[_Saved]]]) -> None:
        for layer, saved in fused:
            for param, original in saved:
                param.copy_(original)
            # The weights are the model's own again, bit for bit: PEFT's unmerge would compute every delta a second
            # time only to subtract it, so its record of what is merged is emptied instead.
            layer.merged_adapters.clear()

    def _unfuse_attention(self) -> dict[str, Any] | None:
        """With fused QKV (worker/speedups.py), use the separate projections for the job; return what to put back."""
        # FusedAttnProcessor2_0 reads to_qkv, a copy of to_q/to_k/to_v made at start: a LoRA on those layers would
        # be ignored. The copy holds the model's own weights still, so putting the processors back is exact.
        unet = getattr(self._pipeline.unet, "_orig_mod", self._pipeline.unet)
        current: dict[str, Any] = unet.attn_processors
        original = getattr(unet, "original_attn_processors", None)
        if not original or not any(type(p).__name__.startswith("Fused") for p in current.values()):
            return None
        unet.set_attn_processor(dict(original))  # set_attn_processor pops what it sets: hand it a copy
        return current
