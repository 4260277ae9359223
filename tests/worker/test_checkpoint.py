"""Start-up checks on weights paths: SDXL base passes, anything else stops with one line: path and reason."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from worker.checkpoint import (
    BUNDLED_SDXL_CONFIG_DIR,
    CheckpointError,
    check_sdxl_checkpoint,
    check_sdxl_folder,
)

# One key per component, as in sd_xl_base_1.0.safetensors; the check reads names and conv_in's shape only,
# so every tensor can be tiny except that conv_in keeps its 4 input channels in dim 1.
SDXL_BASE_KEYS = {
    "model.diffusion_model.label_emb.0.0.weight": torch.zeros(2, 2),
    "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1, 4, 1, 1),
    "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight": torch.zeros(2),
    "conditioner.embedders.1.model.ln_final.weight": torch.zeros(2),
    "first_stage_model.decoder.conv_out.weight": torch.zeros(2),
}
SD15_KEYS = {
    "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1, 4, 1, 1),
    "cond_stage_model.transformer.text_model.final_layer_norm.weight": torch.zeros(2),
    "first_stage_model.decoder.conv_out.weight": torch.zeros(2),
}
REFINER_KEYS = {
    "model.diffusion_model.label_emb.0.0.weight": torch.zeros(2, 2),
    "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1, 4, 1, 1),
    "conditioner.embedders.0.model.ln_final.weight": torch.zeros(2),
    "first_stage_model.decoder.conv_out.weight": torch.zeros(2),
}


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> Path:
    save_file(tensors, str(path))
    return path


def sdxl_base_file(tmp_path: Path) -> Path:
    return write_safetensors(tmp_path / "sd_xl_base_1.0.safetensors", SDXL_BASE_KEYS)


def error_for(path: Path) -> str:
    with pytest.raises(CheckpointError) as caught:
        check_sdxl_checkpoint(path)
    return str(caught.value)


def test_check_accepts_a_safetensors_file_with_sdxl_base_keys(tmp_path: Path) -> None:
    check_sdxl_checkpoint(sdxl_base_file(tmp_path))


def test_check_accepts_sdxl_base_keys_with_metadata_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "with-metadata.safetensors"
    save_file(SDXL_BASE_KEYS, str(path), metadata={"modelspec.title": "SDXL 1.0"})
    check_sdxl_checkpoint(path)


def test_checkpoint_error_is_a_value_error() -> None:
    assert issubclass(CheckpointError, ValueError)


def test_check_refuses_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.safetensors"
    message = error_for(path)
    assert str(path) in message and "no such file" in message


def test_check_refuses_a_ckpt_file_as_unsafe_pickle_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "sd_xl_base_1.0.ckpt"
    # Valid safetensors bytes under a .ckpt name: refused for the format the name promises, not the content.
    path.write_bytes(sdxl_base_file(tmp_path).read_bytes())
    message = error_for(path)
    assert str(path) in message and "pickle" in message and "only .safetensors is accepted" in message


def test_check_refuses_a_file_with_another_suffix(tmp_path: Path) -> None:
    path = tmp_path / "weights.gguf"
    path.write_bytes(b"GGUF")
    message = error_for(path)
    assert str(path) in message and "not a .safetensors file" in message


def test_check_refuses_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "folder.safetensors"
    path.mkdir()
    message = error_for(path)
    assert str(path) in message and "is a folder" in message


def test_check_refuses_a_file_shorter_than_the_header_length_field(tmp_path: Path) -> None:
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x10\x00\x00")
    message = error_for(path)
    assert str(path) in message and "too short for a safetensors header" in message


def test_check_refuses_a_truncated_header(tmp_path: Path) -> None:
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(sdxl_base_file(tmp_path).read_bytes()[:40])
    message = error_for(path)
    assert str(path) in message and "corrupt safetensors header" in message and "truncated" in message


def test_check_refuses_a_header_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "garbage.safetensors"
    body = b"\xff\xfenot json at all"
    path.write_bytes(len(body).to_bytes(8, "little") + body)
    message = error_for(path)
    assert str(path) in message and "not valid JSON" in message


def test_check_refuses_a_header_length_beyond_the_safetensors_limit(tmp_path: Path) -> None:
    # A pickle's first 8 bytes read as a huge length; that must not turn into a huge allocation.
    path = tmp_path / "renamed-pickle.safetensors"
    path.write_bytes(b"\x80\x02}q\x00(X\x05\x00" + b"\x00" * 64)
    message = error_for(path)
    assert str(path) in message and "corrupt safetensors header" in message


def test_check_refuses_a_file_whose_tensor_data_was_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "partial-download.safetensors"
    path.write_bytes(sdxl_base_file(tmp_path).read_bytes()[:-8])
    message = error_for(path)
    assert str(path) in message and "truncated" in message and "incomplete download" in message


def test_check_refuses_a_stable_diffusion_1_5_checkpoint(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "v1-5-pruned.safetensors", SD15_KEYS)
    message = error_for(path)
    assert str(path) in message and "Stable Diffusion 1.x/2.x" in message


def test_check_refuses_the_sdxl_refiner_with_its_own_message(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "sd_xl_refiner_1.0.safetensors", REFINER_KEYS)
    message = error_for(path)
    assert str(path) in message and "SDXL refiner" in message


def test_check_refuses_an_sdxl_inpainting_unet_by_its_input_channels(tmp_path: Path) -> None:
    tensors = {**SDXL_BASE_KEYS, "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1, 9, 1, 1)}
    path = write_safetensors(tmp_path / "sdxl-inpaint.safetensors", tensors)
    message = error_for(path)
    assert str(path) in message and "9 input channels" in message


def test_check_names_the_component_a_checkpoint_lacks(tmp_path: Path) -> None:
    tensors = {k: v for k, v in SDXL_BASE_KEYS.items() if not k.startswith("first_stage_model.")}
    path = write_safetensors(tmp_path / "no-vae.safetensors", tensors)
    message = error_for(path)
    assert str(path) in message and "no weights for VAE (first_stage_model.decoder.conv_out.weight)" in message
    assert "UNet" not in message


def test_check_refuses_a_lora(tmp_path: Path) -> None:
    tensors = {"lora_unet_down_blocks_1_attentions_0_proj_in.lora_down.weight": torch.zeros(2)}
    path = write_safetensors(tmp_path / "style.safetensors", tensors)
    message = error_for(path)
    assert str(path) in message and "LoRA" in message


def test_check_refuses_a_single_diffusers_component_file(tmp_path: Path) -> None:
    tensors = {
        "conv_in.weight": torch.zeros(1, 4, 1, 1),
        "down_blocks.0.resnets.0.conv1.weight": torch.zeros(2),
    }
    path = write_safetensors(tmp_path / "diffusion_pytorch_model.safetensors", tensors)
    message = error_for(path)
    assert str(path) in message and "model_index.json" in message


def test_check_refuses_a_file_with_no_tensors(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "empty.safetensors", {})
    message = error_for(path)
    assert str(path) in message and "no tensors" in message


BadFile = Callable[[Path], Path]


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "missing.safetensors"


def _truncated(tmp_path: Path) -> Path:
    path = tmp_path / "cut.safetensors"
    path.write_bytes(sdxl_base_file(tmp_path).read_bytes()[:30])
    return path


def _sd15(tmp_path: Path) -> Path:
    return write_safetensors(tmp_path / "sd15.safetensors", SD15_KEYS)


@pytest.mark.parametrize("make", [_missing, _truncated, _sd15], ids=["missing", "truncated", "sd15"])
def test_check_errors_are_one_line_and_start_with_the_path(tmp_path: Path, make: BadFile) -> None:
    path = make(tmp_path)
    message = error_for(path)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message


def write_model_index(folder: Path, content: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text(content)
    return folder


def folder_error_for(path: Path) -> str:
    with pytest.raises(CheckpointError) as caught:
        check_sdxl_folder(path)
    return str(caught.value)


def test_folder_check_accepts_an_sdxl_pipeline_folder(tmp_path: Path) -> None:
    check_sdxl_folder(write_model_index(tmp_path / "sdxl", json.dumps({"_class_name": "StableDiffusionXLPipeline"})))


def test_folder_check_accepts_the_bundled_sdxl_base_configs() -> None:
    check_sdxl_folder(BUNDLED_SDXL_CONFIG_DIR)


def test_folder_check_refuses_a_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    message = folder_error_for(path)
    assert str(path) in message and "no such folder" in message


def test_folder_check_refuses_a_folder_without_model_index(tmp_path: Path) -> None:
    message = folder_error_for(tmp_path)
    assert str(tmp_path) in message and "no model_index.json" in message


def test_folder_check_refuses_another_pipeline_class(tmp_path: Path) -> None:
    folder = write_model_index(tmp_path / "sd15", json.dumps({"_class_name": "StableDiffusionPipeline"}))
    message = folder_error_for(folder)
    assert str(folder) in message and "'StableDiffusionPipeline'" in message and "StableDiffusionXLPipeline" in message


def test_folder_check_refuses_the_refiner_pipeline(tmp_path: Path) -> None:
    index = json.dumps({"_class_name": "StableDiffusionXLImg2ImgPipeline"})
    folder = write_model_index(tmp_path / "refiner", index)
    assert "StableDiffusionXLImg2ImgPipeline" in folder_error_for(folder)


def test_folder_check_refuses_a_corrupt_model_index(tmp_path: Path) -> None:
    folder = write_model_index(tmp_path / "broken", '{"_class_name": ')
    message = folder_error_for(folder)
    assert str(folder) in message and "unreadable model_index.json" in message and "\n" not in message
