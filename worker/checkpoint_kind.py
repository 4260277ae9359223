"""What an SDXL-layout checkpoint really is (prediction type, zero terminal SNR, family), from keys and configs only.

Run after worker/checkpoint.py's checks: those say the weights are SDXL-shaped, this says whether SDXL base's
bundled config (epsilon, scaled-linear betas, the [1, 2, 10] UNet) describes them, and if not, what does.

Sources of the rules (read, not copied):
- ComfyUI comfy/supported_models.py, class SDXL.model_type: `edm_mean` + `edm_std` keys are Playground v2.5 (EDM),
  `edm_vpred.sigma_max` is EDM v-prediction (CosXL), `v_pred` is v-prediction and `ztsnr` beside it zero terminal
  SNR ("some zsnr anime checkpoints"); classes SSD1B, Segmind_Vega, KOALA_700M and KOALA_1B are SDXL's widths with
  fewer transformer blocks, told apart by `transformer_depth`.
- ComfyUI comfy/model_detection.py, detect_unet_config / calculate_transformer_depth: that depth is counted per
  input block holding a resnet (`input_blocks.N.0.in_layers.0.weight`) as the `input_blocks.N.1.transformer_blocks.K`
  present; widths from conv_in (model_channels), attn2.to_k (context_dim) and label_emb (adm_in_channels).
- diffusers loaders/single_file_utils.py CHECKPOINT_KEY_NAMES: a file with `edm_mean` is "playground-v2-5".
- kohya-ss sd-scripts library/sai_model_spec.py: `modelspec.prediction_type` is "epsilon" or "v"; its training
  scripts write `ss_v_parameterization` and `ss_zero_terminal_snr` as "True"/"False".
- Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps Are Flawed" (arXiv 2305.08891) and diffusers'
  docs (using-diffusers/scheduler_features, "Rescale noise schedule"): a zero-terminal-SNR model is run with
  `rescale_betas_zero_snr=True` and `timestep_spacing="trailing"`, so sampling starts at the pure-noise step.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from safetensors import SafetensorError, safe_open

from worker.checkpoint import CheckpointError

Prediction = Literal["epsilon", "v_prediction"]

# SDXL base's UNet (models/sdxl-base/unet/config.json): widths, and transformer blocks per resnet in ComfyUI's
# order: input blocks (down), the middle block, output blocks (up).
_SDXL_MODEL_CHANNELS = 320
_SDXL_CONTEXT_DIM = 2048
_SDXL_ADM_IN_CHANNELS = 2816
_SDXL_DOWN = (0, 0, 2, 2, 10, 10)
_SDXL_MID = 10
_SDXL_UP = (10, 10, 10, 2, 2, 2, 0, 0, 0)
# ComfyUI supported_models.py's distilled SDXL classes, by their input-block transformer_depth.
_DISTILLED_FAMILIES = {
    (0, 0, 2, 2, 4, 4): ("ssd-1b", "SSD-1B"),
    (0, 0, 1, 1, 2, 2): ("segmind-vega", "Segmind Vega"),
    (0, 2, 5): ("koala-700m", "KOALA-700M"),
    (0, 2, 6): ("koala-1b", "KOALA-1B"),
}
_UNET = "model.diffusion_model."
_RESNET_KEY = re.compile(r"(input_blocks|output_blocks)\.(\d+)\.0\.in_layers\.0\.weight")
_TRANSFORMER_KEY = re.compile(r"(input_blocks\.\d+|output_blocks\.\d+|middle_block)\.1\.transformer_blocks\.(\d+)\.")
# What writers put in modelspec.prediction_type; "v" is sd-scripts' own spelling.
_V_NAMES = frozenset({"v", "v_prediction", "v-prediction", "vpred", "v_pred"})
_EPSILON_NAMES = frozenset({"epsilon", "eps"})


@dataclass(frozen=True)
class CheckpointKind:
    """What a checkpoint is, what its scheduler needs, and why it cannot be loaded when it cannot."""

    prediction_type: Prediction
    zero_terminal_snr: bool
    family: str
    # Keyword arguments for the scheduler's from_config; {} for plain SDXL base.
    scheduler_overrides: dict[str, object] = field(default_factory=dict)
    # One line, starting with the path, when SDXL base's bundled config cannot load it; None when it can.
    refusal: str | None = None


def inspect_file(path: Path) -> CheckpointKind:
    """The kind of a single-file SDXL .safetensors checkpoint, from its header alone (no tensor data is read)."""
    try:
        with safe_open(str(path), framework="pt") as file:
            keys = set(file.keys())
            metadata: dict[str, str] = file.metadata() or {}
            shapes = {key: list(file.get_slice(key).get_shape()) for key in _width_keys(keys)}
    except (OSError, SafetensorError) as error:
        raise CheckpointError(f"{path}: cannot read its safetensors header ({' '.join(str(error).split())})") from None

    # Markers first, as ComfyUI reads them: an EDM file is not run by any of our schedulers, whatever else it says.
    edm = sorted(keys & {"edm_mean", "edm_std"})
    if edm:
        why = f"{path}: is Playground v2.5 (an EDM model: {'/'.join(edm)} keys), which this worker does not load"
        return CheckpointKind("epsilon", False, "playground-v2.5", {}, why)
    if any(key.startswith("edm_vpred.") for key in keys):
        why = f"{path}: is an EDM v-prediction SDXL such as CosXL (edm_vpred.* keys), which this worker does not load"
        return CheckpointKind("v_prediction", False, "cosxl", {}, why)

    family, refusal = _judge_depths(path, *_file_depths(keys)) if _has_sdxl_widths(shapes) else ("sdxl", None)
    prediction, ztsnr, unknown = _file_prediction(path, keys, metadata)
    return CheckpointKind(prediction, ztsnr, family, _overrides(prediction, ztsnr), refusal or unknown)


def inspect_folder(path: Path) -> CheckpointKind:
    """The kind of a diffusers SDXL folder (one that passed check_sdxl_folder), from its JSON configs alone."""
    index = _read_json(path / "model_index.json")
    scheduler = _read_json(path / "scheduler" / "scheduler_config.json")
    unet = _read_json(path / "unet" / "config.json")
    vae = _read_json(path / "vae" / "config.json")

    # from_pretrained builds the class model_index.json names; EDM schedulers carry sigma_data.
    entry = index.get("scheduler")
    index_class = entry[1] if isinstance(entry, list) and len(entry) == 2 else None
    classes = {c for c in (index_class, scheduler.get("_class_name")) if isinstance(c, str)}
    edm_class = next((c for c in sorted(classes) if c.startswith("EDM")), None)
    if edm_class or "sigma_data" in scheduler:
        marker = f"{edm_class} scheduler" if edm_class else "sigma_data in scheduler/scheduler_config.json"
        playground = "latents_mean" in vae and "latents_std" in vae  # Playground v2.5's own latent statistics
        if playground:
            marker = f"an EDM model: {marker}, latents_mean/latents_std in vae/config.json"
        what = f"Playground v2.5 ({marker})" if playground else f"an EDM model ({marker})"
        why = f"{path}: is {what}, which this worker does not load"
        return CheckpointKind("epsilon", False, "playground-v2.5" if playground else "edm", {}, why)

    declared = scheduler.get("prediction_type", "epsilon")  # diffusers' schedulers default to epsilon
    if declared not in ("epsilon", "v_prediction"):
        why = f"{path}: its scheduler's prediction_type is {declared!r}; this worker runs epsilon and v_prediction only"
        return CheckpointKind("epsilon", False, "sdxl", {}, why)
    prediction: Prediction = "v_prediction" if declared == "v_prediction" else "epsilon"
    # The folder's own scheduler config is what from_pretrained loads, so it is reported as it stands.
    ztsnr = scheduler.get("rescale_betas_zero_snr") is True
    family, refusal = (
        _judge_depths(path, *_config_depths(unet)) if _unet_config_has_sdxl_widths(unet) else ("sdxl", None)
    )
    return CheckpointKind(prediction, ztsnr, family, _overrides(prediction, ztsnr), refusal)


def _file_prediction(path: Path, keys: set[str], metadata: dict[str, str]) -> tuple[Prediction, bool, str | None]:
    written = metadata.get("modelspec.prediction_type", "")
    declared = written.strip().lower()
    if "v_pred" not in keys and declared and declared not in _V_NAMES | _EPSILON_NAMES:
        why = f"{path}: its metadata says modelspec.prediction_type {written!r}; this worker runs epsilon and v only"
        return "epsilon", False, why
    # ComfyUI decides by the marker key alone, and a merge can carry stale metadata, so the marker wins.
    if "v_pred" in keys or declared in _V_NAMES or _is_true(metadata.get("ss_v_parameterization")):
        # ztsnr counts only beside v-prediction, as in ComfyUI: at zero terminal SNR there is no noise to predict.
        return "v_prediction", "ztsnr" in keys or _is_true(metadata.get("ss_zero_terminal_snr")), None
    return "epsilon", False, None


def _overrides(prediction: Prediction, ztsnr: bool) -> dict[str, object]:
    overrides: dict[str, object] = {}
    if prediction == "v_prediction":
        overrides["prediction_type"] = "v_prediction"
    if ztsnr:
        # "leading" spacing never reaches the pure-noise step that a zero-terminal-SNR model is trained to start from.
        overrides.update(rescale_betas_zero_snr=True, timestep_spacing="trailing")
    return overrides


def _width_keys(keys: set[str]) -> list[str]:
    wanted = [_UNET + "input_blocks.0.0.weight", _UNET + "label_emb.0.0.weight"]
    to_k = sorted(k for k in keys if k.startswith(_UNET) and k.endswith(".transformer_blocks.0.attn2.to_k.weight"))
    return [k for k in wanted if k in keys] + to_k[:1]


def _has_sdxl_widths(shapes: dict[str, list[int]]) -> bool:
    # Toy-width SDXL layouts (tests, the demo model) are not judged against SDXL's depth, only SDXL-sized UNets are.
    conv_in = shapes.get(_UNET + "input_blocks.0.0.weight", [])
    label_emb = shapes.get(_UNET + "label_emb.0.0.weight", [])
    to_k = next((shape for key, shape in shapes.items() if key.endswith(".attn2.to_k.weight")), [])
    return (
        conv_in[:1] == [_SDXL_MODEL_CHANNELS]
        and label_emb[1:2] == [_SDXL_ADM_IN_CHANNELS]
        and to_k[1:2] == [_SDXL_CONTEXT_DIM]
    )


def _file_depths(keys: set[str]) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    blocks: dict[str, set[int]] = {}
    for key in keys:
        if key.startswith(_UNET) and (match := _TRANSFORMER_KEY.match(key, len(_UNET))):
            blocks.setdefault(match.group(1), set()).add(int(match.group(2)))
    # Per block holding a resnet, as ComfyUI counts; downsamplers (N.0.op) and upsamplers hold none.
    resnets: dict[str, list[int]] = {"input_blocks": [], "output_blocks": []}
    for key in keys:
        if key.startswith(_UNET) and (match := _RESNET_KEY.fullmatch(key, len(_UNET))):
            resnets[match.group(1)].append(int(match.group(2)))

    def depths(kind: str) -> tuple[int, ...]:
        return tuple(len(blocks.get(f"{kind}.{n}", ())) for n in sorted(resnets[kind]))

    return depths("input_blocks"), len(blocks.get("middle_block", ())), depths("output_blocks")


def _unet_config_has_sdxl_widths(unet: dict[str, Any]) -> bool:
    # The demo model (worker/demo_model.py: block_out_channels (32, 64)) is SDXL's classes at toy widths: not judged.
    channels = unet.get("block_out_channels")
    return (
        isinstance(channels, list)
        and channels[:1] == [_SDXL_MODEL_CHANNELS]
        and unet.get("cross_attention_dim") == _SDXL_CONTEXT_DIM
        and unet.get("projection_class_embeddings_input_dim") == _SDXL_ADM_IN_CHANNELS
    )


def _config_depths(unet: dict[str, Any]) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    # The same counts from UNet2DConditionModel's config, built as diffusers builds the model from it
    # (unet_2d_condition.py: per-level ints or per-layer lists; up levels have one resnet more, reversed order).
    down_types: list[str] = list(unet.get("down_block_types", []))
    up_types: list[str] = list(unet.get("up_block_types", []))
    layers = _per_level(unet.get("layers_per_block", 2), len(down_types))
    per_block = _per_level(unet.get("transformer_layers_per_block", 1), len(down_types))
    reverse = unet.get("reverse_transformer_layers_per_block") or list(reversed(per_block))
    up_layers = [n + 1 for n in reversed(layers)]

    def depths(types: list[str], counts: list[int], transformers: list[Any]) -> tuple[int, ...]:
        out: list[int] = []
        for kind, count, depth in zip(types, counts, transformers, strict=False):
            each = depth if isinstance(depth, list) else [depth] * count
            out += [int(d) if "CrossAttn" in kind else 0 for d in each[:count]]
        return tuple(out)

    mid_type = unet.get("mid_block_type", "UNetMidBlock2DCrossAttn")
    last = per_block[-1] if per_block else 0
    mid = (last[0] if isinstance(last, list) else int(last)) if mid_type == "UNetMidBlock2DCrossAttn" else 0
    return depths(down_types, layers, per_block), mid, depths(up_types, up_layers, reverse)


def _per_level(value: Any, levels: int) -> list[Any]:
    return list(value) if isinstance(value, list) else [value] * levels


def _judge_depths(path: Path, down: tuple[int, ...], mid: int, up: tuple[int, ...]) -> tuple[str, str | None]:
    if (down, mid, up) == (_SDXL_DOWN, _SDXL_MID, _SDXL_UP):
        return "sdxl", None
    found, full = sum(down) + mid + sum(up), sum(_SDXL_DOWN) + _SDXL_MID + sum(_SDXL_UP)
    counts = f"down {sum(down)}/{sum(_SDXL_DOWN)}, mid {mid}/{_SDXL_MID}, up {sum(up)}/{sum(_SDXL_UP)}"
    if found >= full:
        return "sdxl-variant", (
            f"{path}: its UNet's transformer blocks are not SDXL base's ({found} of {full}: {counts}), "
            "so SDXL base's config cannot load it"
        )
    family, name = _DISTILLED_FAMILIES.get(down, ("distilled-sdxl", "SSD-1B/Vega/KOALA-like"))
    return family, (
        f"{path}: is a distilled SDXL UNet ({name}: {found} of SDXL's {full} transformer blocks, {counts}), "
        "which this worker does not load with SDXL base's config"
    )


def _read_json(path: Path) -> dict[str, Any]:
    # A missing component config leaves its rules unapplied; from_pretrained reports a missing component itself.
    if not path.is_file():
        return {}
    try:
        content: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: unreadable config ({' '.join(str(error).split())})") from None
    if not isinstance(content, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return content


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"
