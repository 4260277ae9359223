"""Cheap start-up checks that a weights path is an SDXL base checkpoint, before any tensor is loaded."""

import json
from pathlib import Path
from typing import Any

# The SDXL base component configs a single-file load is resolved against, so it never asks the Hub.
BUNDLED_SDXL_CONFIG_DIR: Path = Path(__file__).resolve().parent.parent / "models" / "sdxl-base"

# safetensors refuses headers above 100 MB (safetensors/src/tensor.rs MAX_HEADER_SIZE); a larger length
# field means the file is not safetensors at all, and we must not try to allocate it.
_MAX_HEADER_BYTES = 100_000_000
# Formats that unpickle on load and so can run arbitrary code from the file.
_PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"})
_SDXL_PIPELINE_CLASS = "StableDiffusionXLPipeline"

# Keys of sd_xl_base_1.0.safetensors (Stability's original "sgm" layout) that SDXL base fine-tunes keep too:
# one per component that StableDiffusionXLPipeline.from_single_file builds from the file.
_UNET_CONV_IN = "model.diffusion_model.input_blocks.0.0.weight"
_REQUIRED_KEYS = {
    # SDXL's size/crop conditioning (absent from SD 1.x/2.x UNets).
    "model.diffusion_model.label_emb.0.0.weight": "UNet",
    _UNET_CONV_IN: "UNet",
    "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight": "text encoder (CLIP ViT-L)",
    "conditioner.embedders.1.model.ln_final.weight": "text encoder 2 (OpenCLIP ViT-bigG)",
    "first_stage_model.decoder.conv_out.weight": "VAE",
}
# SDXL base's UNet takes 4 latent channels; inpainting variants take 9 and would fail later, mid-load.
_LATENT_CHANNELS = 4


class CheckpointError(ValueError):
    """The configured weights cannot be used; the message is one line naming the path and the reason."""


def _fail(path: Path, reason: str) -> CheckpointError:
    return CheckpointError(f"{path}: {reason}")


def check_sdxl_checkpoint(path: Path) -> None:
    """Raise CheckpointError unless `path` is a readable .safetensors file with SDXL base's keys."""
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a .safetensors file (a diffusers folder needs model_index.json)")
    suffix = path.suffix.lower()
    if suffix in _PICKLE_SUFFIXES:
        raise _fail(
            path,
            f"{suffix} checkpoints are pickle files that can run code when loaded; "
            "only .safetensors is accepted (use the .safetensors release of the model, or convert it)",
        )
    if suffix != ".safetensors":
        raise _fail(path, f"not a .safetensors file (suffix {suffix or 'missing'}); only .safetensors is accepted")
    header = _read_safetensors_header(path)
    _check_sdxl_base_keys(path, header)


def check_sdxl_folder(path: Path) -> None:
    """Raise CheckpointError unless `path` is a diffusers folder whose model_index.json is SDXL's pipeline."""
    if not path.is_dir():
        raise _fail(path, "no such folder" if not path.exists() else "not a folder")
    index = path / "model_index.json"
    if not index.is_file():
        raise _fail(path, "no model_index.json, so this is not a diffusers pipeline folder")
    try:
        content: Any = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(index, f"unreadable model_index.json ({_one_line(error)})") from None
    class_name = content.get("_class_name") if isinstance(content, dict) else None
    if class_name != _SDXL_PIPELINE_CLASS:
        raise _fail(index, f"_class_name is {class_name!r}, expected {_SDXL_PIPELINE_CLASS!r} (SDXL base)")


def _read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file: 8-byte little-endian length, then that many bytes of JSON."""
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            length_field = file.read(8)
            if len(length_field) < 8:
                raise _fail(path, f"only {size} bytes long: too short for a safetensors header (truncated?)")
            length = int.from_bytes(length_field, "little")
            if length > _MAX_HEADER_BYTES or 8 + length > size:
                raise _fail(
                    path,
                    f"corrupt safetensors header: it claims {length} bytes but the file has {size} "
                    "(truncated, or not a safetensors file)",
                )
            raw = file.read(length)
    except OSError as error:
        raise _fail(path, f"cannot be read ({_one_line(error)})") from None
    try:
        header: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(path, f"corrupt safetensors header: not valid JSON ({_one_line(error)})") from None
    if not isinstance(header, dict):
        raise _fail(path, "corrupt safetensors header: not a JSON object")
    # A download that stopped early keeps an intact header; the tensor data it promises is what goes missing.
    data_size = size - 8 - length
    data_end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise _fail(path, f"corrupt safetensors header: tensor {name!r} has no valid data_offsets")
        data_end = max(data_end, offsets[1])
    if data_end > data_size:
        raise _fail(
            path,
            f"truncated: the header promises {data_end} bytes of tensor data but the file holds {data_size} "
            "(an incomplete download?)",
        )
    return header


def _check_sdxl_base_keys(path: Path, header: dict[str, Any]) -> None:
    keys = header.keys() - {"__metadata__"}
    if not keys:
        raise _fail(path, "holds no tensors")
    if not any(key.startswith("model.diffusion_model.") for key in keys):
        if any("lora" in key.lower() for key in keys):
            raise _fail(path, "is a LoRA adapter, not a full SDXL base checkpoint")
        raise _fail(
            path,
            "no model.diffusion_model.* UNet keys: not a single-file Stable Diffusion checkpoint "
            "(for one component of a diffusers folder, point to the folder that holds model_index.json)",
        )
    if any(key.startswith("cond_stage_model.") for key in keys):
        raise _fail(path, "is a Stable Diffusion 1.x/2.x checkpoint (cond_stage_model.* keys), not SDXL base")
    has_clip_l = any(key.startswith("conditioner.embedders.0.transformer.") for key in keys)
    has_open_clip_first = any(key.startswith("conditioner.embedders.0.model.") for key in keys)
    has_second_encoder = any(key.startswith("conditioner.embedders.1.") for key in keys)
    if has_open_clip_first and not has_clip_l and not has_second_encoder:
        # The refiner conditions on OpenCLIP ViT-bigG alone and is trained to refine, not to start from noise.
        raise _fail(path, "is the SDXL refiner (one OpenCLIP text encoder), not SDXL base; use the base model")
    missing = [f"{component} ({key})" for key, component in _REQUIRED_KEYS.items() if key not in keys]
    if missing:
        raise _fail(path, "not an SDXL base checkpoint: no weights for " + ", ".join(missing))
    conv_in: Any = header[_UNET_CONV_IN]
    shape = conv_in.get("shape") if isinstance(conv_in, dict) else None
    if not (isinstance(shape, list) and len(shape) == 4):
        raise _fail(path, f"corrupt safetensors header: {_UNET_CONV_IN} has shape {shape!r}, expected 4 dims")
    if shape[1] != _LATENT_CHANNELS:
        raise _fail(
            path,
            f"its UNet takes {shape[1]} input channels (an inpainting or other variant); "
            f"SDXL base takes {_LATENT_CHANNELS}",
        )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
