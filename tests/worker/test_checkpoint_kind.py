"""What an SDXL checkpoint really is, from its header or configs: prediction, zero terminal SNR, family, refusal."""

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, EulerDiscreteScheduler
from safetensors.torch import save_file

from scripts.tiny_models import tiny_model_dir
from tests.worker.ldm_export import pipeline_to_sgm
from tests.worker.test_checkpoint import SDXL_BASE_KEYS
from tests.worker.test_single_file_load import tiny_sdxl_pipeline
from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR, CheckpointError, check_sdxl_checkpoint, check_sdxl_folder
from worker.checkpoint_kind import CheckpointKind, inspect_file, inspect_folder

PLAIN_SDXL = CheckpointKind("epsilon", False, "sdxl", {}, None)
V_PREDICTION: dict[str, object] = {"prediction_type": "v_prediction"}
V_PREDICTION_ZTSNR: dict[str, object] = {
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "timestep_spacing": "trailing",
}
UNET = "model.diffusion_model."
DELETE = object()  # in sdxl_folder's changes: drop the key (None writes JSON null)


@pytest.fixture(scope="module")
def tiny_sgm() -> dict[str, torch.Tensor]:
    """The tiny SDXL-layout pipeline (toy widths) as one sgm state dict, as ldm_export writes it."""
    return pipeline_to_sgm(tiny_sdxl_pipeline())


def write(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> Path:
    save_file(tensors, str(path), metadata=metadata)
    return path


def tiny_file(
    tmp_path: Path, tiny_sgm: dict[str, torch.Tensor], markers: tuple[str, ...] = (), **metadata: str
) -> Path:
    # Real files carry their markers as empty tensors (ComfyUI reads the names only).
    tensors = {**tiny_sgm, **{marker: torch.tensor([]) for marker in markers}}
    return write(tmp_path / "tiny.safetensors", tensors, {k.replace("__", "."): v for k, v in metadata.items()} or None)


def sdxl_sized_unet(depths: tuple[int, ...] = (0, 2, 10), resnets: int = 2, mid: int = 10) -> dict[str, torch.Tensor]:
    """Header-only stand-in for an SDXL-width UNet in the sgm layout: tiny tensors, except the dims that give widths."""
    tensors = {
        UNET + "input_blocks.0.0.weight": torch.zeros(320, 4, 1, 1),  # model_channels 320, 4 latent channels
        UNET + "label_emb.0.0.weight": torch.zeros(1, 2816),  # adm_in_channels
    }

    def block(prefix: str, depth: int) -> None:
        tensors[f"{prefix}.0.in_layers.0.weight"] = torch.zeros(1)
        for k in range(depth):
            tensors[f"{prefix}.1.transformer_blocks.{k}.attn2.to_k.weight"] = torch.zeros(1, 2048)  # context_dim

    number = 1
    for level, depth in enumerate(depths):
        for _ in range(resnets):
            block(f"{UNET}input_blocks.{number}", depth)
            number += 1
        if level < len(depths) - 1:
            tensors[f"{UNET}input_blocks.{number}.0.op.weight"] = torch.zeros(1)
            number += 1
    block(UNET + "middle_block", mid)
    tensors[UNET + "middle_block.2.in_layers.0.weight"] = torch.zeros(1)
    number = 0
    for depth in reversed(depths):
        for _ in range(resnets + 1):
            block(f"{UNET}output_blocks.{number}", depth)
            number += 1
    return tensors


def sdxl_sized_file(tmp_path: Path, **layout: Any) -> Path:
    unet = sdxl_sized_unet(**layout)
    return write(tmp_path / "sdxl-sized.safetensors", {**SDXL_BASE_KEYS, **unet})


def sdxl_folder(tmp_path: Path, **changes: dict[str, Any]) -> Path:
    """The bundled SDXL base configs, with some keys changed or DELETEd, as a diffusers folder."""
    folder = tmp_path / "folder"
    files = {
        "index": "model_index.json",
        "scheduler": "scheduler/scheduler_config.json",
        "unet": "unet/config.json",
        "vae": "vae/config.json",
    }
    for part, name in files.items():
        content = json.loads((BUNDLED_SDXL_CONFIG_DIR / name).read_text())
        for key, value in changes.get(part, {}).items():
            if value is DELETE:
                content.pop(key, None)
            else:
                content[key] = value
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(content))
    check_sdxl_folder(folder)
    return folder


def assert_one_line_refusal(kind: CheckpointKind, path: Path, *phrases: str) -> None:
    assert kind.refusal is not None
    assert kind.refusal.startswith(f"{path}: ") and "\n" not in kind.refusal
    for phrase in phrases:
        assert phrase in kind.refusal


# Single files.


def test_the_tiny_exported_sdxl_file_is_plain_sdxl(tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]) -> None:
    # Its toy UNet has Segmind Vega's transformer depths (1, 1, 2 per level): only SDXL-width UNets are judged.
    path = tiny_file(tmp_path, tiny_sgm)
    check_sdxl_checkpoint(path)
    assert inspect_file(path) == PLAIN_SDXL


def test_an_sdxl_width_unet_with_sdxl_base_depths_is_plain_sdxl(tmp_path: Path) -> None:
    path = sdxl_sized_file(tmp_path)
    check_sdxl_checkpoint(path)
    assert inspect_file(path) == PLAIN_SDXL


def test_the_v_pred_marker_makes_a_v_prediction_model(tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]) -> None:
    kind = inspect_file(tiny_file(tmp_path, tiny_sgm, ("v_pred",)))
    assert kind == CheckpointKind("v_prediction", False, "sdxl", V_PREDICTION, None)


def test_v_pred_and_ztsnr_markers_make_a_zero_terminal_snr_v_model(
    tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]
) -> None:
    kind = inspect_file(tiny_file(tmp_path, tiny_sgm, ("v_pred", "ztsnr")))
    assert kind == CheckpointKind("v_prediction", True, "sdxl", V_PREDICTION_ZTSNR, None)


def test_ztsnr_without_v_pred_is_ignored_as_comfyui_does(tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]) -> None:
    assert inspect_file(tiny_file(tmp_path, tiny_sgm, ("ztsnr",))) == PLAIN_SDXL


@pytest.mark.parametrize("value", ["v", "v_prediction", "V"])
def test_modelspec_prediction_type_v_makes_a_v_prediction_model(
    tmp_path: Path, tiny_sgm: dict[str, torch.Tensor], value: str
) -> None:
    kind = inspect_file(tiny_file(tmp_path, tiny_sgm, modelspec__prediction_type=value))
    assert kind == CheckpointKind("v_prediction", False, "sdxl", V_PREDICTION, None)


def test_kohya_metadata_names_v_parameterization_and_zero_terminal_snr(
    tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]
) -> None:
    path = tiny_file(tmp_path, tiny_sgm, ss_v_parameterization="True", ss_zero_terminal_snr="True")
    assert inspect_file(path) == CheckpointKind("v_prediction", True, "sdxl", V_PREDICTION_ZTSNR, None)


def test_kohya_metadata_that_says_false_is_plain_sdxl(tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]) -> None:
    path = tiny_file(
        tmp_path,
        tiny_sgm,
        ss_v_parameterization="False",
        ss_zero_terminal_snr="False",
        modelspec__prediction_type="epsilon",
    )
    assert inspect_file(path) == PLAIN_SDXL


def test_the_v_pred_marker_wins_over_metadata_that_says_epsilon(
    tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]
) -> None:
    path = tiny_file(tmp_path, tiny_sgm, ("v_pred",), modelspec__prediction_type="epsilon")
    assert inspect_file(path).prediction_type == "v_prediction"


def test_an_unknown_modelspec_prediction_type_is_refused(tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]) -> None:
    path = tiny_file(tmp_path, tiny_sgm, modelspec__prediction_type="Flow")
    assert_one_line_refusal(inspect_file(path), path, "modelspec.prediction_type 'Flow'")


@pytest.mark.parametrize(
    ("markers", "named"), [(("edm_mean", "edm_std"), "edm_mean/edm_std keys"), (("edm_mean",), "edm_mean keys")]
)
def test_edm_mean_and_std_are_playground_v2_5(
    tmp_path: Path, tiny_sgm: dict[str, torch.Tensor], markers: tuple[str, ...], named: str
) -> None:
    # Playground v2.5 keeps its latent statistics as 4-channel tensors (diffusers reads edm_mean alone as it).
    tensors = {**tiny_sgm, **{marker: torch.zeros(1, 4, 1, 1) for marker in markers}}
    path = write(tmp_path / "playground-v2.5.safetensors", tensors)
    kind = inspect_file(path)
    assert kind.family == "playground-v2.5" and kind.scheduler_overrides == {}
    assert_one_line_refusal(kind, path, "is Playground v2.5 (an EDM model: " + named, "which this worker does not load")


def test_edm_vpred_sigmas_are_an_edm_v_prediction_model(tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]) -> None:
    tensors = {**tiny_sgm, "edm_vpred.sigma_max": torch.tensor([120.0]), "edm_vpred.sigma_min": torch.tensor([0.002])}
    path = write(tmp_path / "cosxl.safetensors", tensors)
    kind = inspect_file(path)
    assert (kind.family, kind.prediction_type) == ("cosxl", "v_prediction")
    assert_one_line_refusal(kind, path, "EDM v-prediction", "CosXL")


@pytest.mark.parametrize(
    ("layout", "family", "named", "counts"),
    [
        ({"depths": (0, 2, 4), "mid": 0}, "ssd-1b", "SSD-1B: 30 of SDXL's 70", "down 12/24, mid 0/10, up 18/36"),
        ({"depths": (0, 1, 2), "mid": 0}, "segmind-vega", "Segmind Vega: 15 of SDXL's 70", "down 6/24"),
        ({"depths": (0, 2, 5), "resnets": 1, "mid": 0}, "koala-700m", "KOALA-700M: 21 of SDXL's 70", "down 7/24"),
        ({"depths": (0, 2, 6), "resnets": 1, "mid": 6}, "koala-1b", "KOALA-1B: 30 of SDXL's 70", "mid 6/10"),
        ({"depths": (0, 2, 8)}, "distilled-sdxl", "SSD-1B/Vega/KOALA-like: 60 of SDXL's 70", "down 20/24"),
    ],
)
def test_fewer_transformer_blocks_at_sdxl_widths_are_a_distilled_unet(
    tmp_path: Path, layout: dict[str, Any], family: str, named: str, counts: str
) -> None:
    path = sdxl_sized_file(tmp_path, **layout)
    check_sdxl_checkpoint(path)  # the start-up check cannot tell: these keep SDXL base's named keys
    kind = inspect_file(path)
    assert kind.family == family
    assert_one_line_refusal(kind, path, f"is a distilled SDXL UNet ({named}", counts)


def test_more_transformer_blocks_than_sdxl_base_are_refused(tmp_path: Path) -> None:
    path = sdxl_sized_file(tmp_path, depths=(0, 2, 12))
    kind = inspect_file(path)
    assert kind.family == "sdxl-variant"
    assert_one_line_refusal(
        kind, path, "its UNet's transformer blocks are not SDXL base's (80 of 70: down 28/24, mid 10/10, up 42/36)"
    )


def test_a_file_that_is_not_safetensors_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="cannot read its safetensors header"):
        inspect_file(path)


# Diffusers folders.


def test_the_bundled_sdxl_base_configs_are_plain_sdxl() -> None:
    assert inspect_folder(BUNDLED_SDXL_CONFIG_DIR) == PLAIN_SDXL


def test_the_demo_model_folder_is_plain_sdxl(tmp_path: Path) -> None:
    # SDXL's classes at toy widths with one level less: not held to SDXL base's depth.
    folder = tiny_model_dir(tmp_path / "demo")
    check_sdxl_folder(folder)
    assert inspect_folder(folder) == PLAIN_SDXL


def test_a_v_prediction_zero_terminal_snr_folder(tmp_path: Path) -> None:
    folder = sdxl_folder(tmp_path, scheduler={"prediction_type": "v_prediction", "rescale_betas_zero_snr": True})
    assert inspect_folder(folder) == CheckpointKind("v_prediction", True, "sdxl", V_PREDICTION_ZTSNR, None)


def test_a_folder_whose_scheduler_names_no_prediction_type_is_epsilon(tmp_path: Path) -> None:
    assert inspect_folder(sdxl_folder(tmp_path, scheduler={"prediction_type": DELETE})) == PLAIN_SDXL


def test_a_folder_predicting_the_sample_is_refused(tmp_path: Path) -> None:
    folder = sdxl_folder(tmp_path, scheduler={"prediction_type": "sample"})
    assert_one_line_refusal(inspect_folder(folder), folder, "prediction_type is 'sample'")


def test_a_playground_v2_5_folder_is_refused(tmp_path: Path) -> None:
    edm = "EDMDPMSolverMultistepScheduler"
    folder = sdxl_folder(
        tmp_path,
        index={"scheduler": ["diffusers", edm]},
        scheduler={"_class_name": edm, "sigma_data": 0.5, "sigma_max": 80.0, "sigma_min": 0.002},
        vae={"latents_mean": [-1.6, -1.5, -0.3, 0.8], "latents_std": [4.2, 4.1, 4.2, 4.8]},
    )
    kind = inspect_folder(folder)
    assert kind.family == "playground-v2.5"
    assert_one_line_refusal(kind, folder, f"is Playground v2.5 (an EDM model: {edm} scheduler", "latents_mean")


def test_an_edm_scheduler_named_only_by_model_index_is_refused(tmp_path: Path) -> None:
    folder = sdxl_folder(tmp_path, index={"scheduler": ["diffusers", "EDMEulerScheduler"]})
    kind = inspect_folder(folder)
    assert kind.family == "edm"
    assert_one_line_refusal(kind, folder, "is an EDM model (EDMEulerScheduler scheduler)")


def test_a_distilled_folder_is_refused_with_the_same_counts_as_its_single_file(tmp_path: Path) -> None:
    folder = sdxl_folder(tmp_path, unet={"transformer_layers_per_block": [1, 2, 4], "mid_block_type": None})
    kind = inspect_folder(folder)
    assert kind.family == "ssd-1b"
    assert_one_line_refusal(kind, folder, "SSD-1B: 30 of SDXL's 70 transformer blocks, down 12/24, mid 0/10, up 18/36")
    file_kind = inspect_file(sdxl_sized_file(tmp_path, depths=(0, 2, 4), mid=0))
    assert kind.refusal is not None and file_kind.refusal is not None
    assert kind.refusal.split(": ", 1)[1] == file_kind.refusal.split(": ", 1)[1]


def test_a_folder_with_per_layer_transformer_depths_is_counted_per_layer(tmp_path: Path) -> None:
    # diffusers' asymmetric form: one depth per resnet, and the up path given on its own.
    unet = {
        "transformer_layers_per_block": [[1, 1], [1, 1], [2, 2]],
        "reverse_transformer_layers_per_block": [[2, 2, 2], [1, 1, 1], [1, 1, 1]],
    }
    kind = inspect_folder(sdxl_folder(tmp_path, unet=unet))
    assert kind.family == "segmind-vega"
    assert kind.refusal is not None and "mid 2/10" in kind.refusal


# The overrides are what diffusers' schedulers take.


@pytest.mark.parametrize("scheduler_class", [EulerDiscreteScheduler, DPMSolverMultistepScheduler])
def test_zero_terminal_snr_overrides_start_sampling_at_the_pure_noise_step(scheduler_class: Any) -> None:
    base = EulerDiscreteScheduler.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="scheduler")
    scheduler = scheduler_class.from_config(base.config, **V_PREDICTION_ZTSNR)
    assert scheduler.config.prediction_type == "v_prediction" and scheduler.config.rescale_betas_zero_snr
    scheduler.set_timesteps(30)
    assert int(scheduler.timesteps[0]) == 999
    # SDXL base's own "leading" spacing would start short of it.
    plain = scheduler_class.from_config(base.config)
    plain.set_timesteps(30)
    assert int(plain.timesteps[0]) < 999


# --- what the loader does with the kind (worker/model_loader.py) ----------------------------------------------


def test_the_loader_refuses_playground_before_loading_anything(
    tmp_path: Path, tiny_sgm: dict[str, torch.Tensor]
) -> None:
    from worker.checkpoint import CheckpointError
    from worker.model_loader import load_model_at
    from worker.settings import WorkerSettings

    path = tiny_file(tmp_path, tiny_sgm, markers=("edm_mean", "edm_std"))
    with pytest.raises(CheckpointError) as refused:
        load_model_at(WorkerSettings(WORKER_DEVICE="cpu"), path)
    assert "Playground v2.5" in str(refused.value) and "\n" not in str(refused.value)


def test_the_loader_gives_a_v_prediction_folder_a_v_prediction_scheduler(tmp_path: Path) -> None:
    from tests.e2e.library import tiny_variant
    from worker.model_loader import load_model_at
    from worker.samplers import build
    from worker.settings import WorkerSettings

    folder = tiny_variant(tmp_path / "vpred", seed=4)
    config_file = folder / "scheduler" / "scheduler_config.json"
    config = json.loads(config_file.read_text())
    config.update(prediction_type="v_prediction", rescale_betas_zero_snr=True)
    config_file.write_text(json.dumps(config))
    model = load_model_at(WorkerSettings(WORKER_DEVICE="cpu"), folder)
    scheduler = model.pipeline.scheduler.config
    assert (scheduler.prediction_type, scheduler.rescale_betas_zero_snr) == ("v_prediction", True)
    assert scheduler.timestep_spacing == "trailing"
    # Every sampler a request names is built from that config, so it keeps the prediction type.
    assert build(model.pipeline.scheduler, "DPM++ 2M", "Karras", 0).config.prediction_type == "v_prediction"
