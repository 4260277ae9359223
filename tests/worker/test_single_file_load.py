"""A single-file SDXL checkpoint loads offline against a local config folder, with every weight where it belongs."""

from collections.abc import Iterator
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from tests.worker.ldm_export import pipeline_to_sgm
from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR, check_sdxl_checkpoint


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Any request to the Hub raises OfflineModeIsEnabled instead of quietly downloading SDXL's configs.
    # huggingface_hub reads HF_HUB_OFFLINE once, at import, which may have happened already: patch both.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    yield


def tiny_sdxl_pipeline() -> StableDiffusionXLPipeline:
    """SDXL's architecture at toy widths: the same block types, text-time conditioning and both text encoders."""
    torch.manual_seed(0)
    # The two encoders must differ in width, as SDXL's do (768 and 1280): diffusers' loader tells which
    # text encoder a checkpoint's CLIP keys are for by comparing widths, and equal widths load CLIP-L twice.
    width, width_2, time_dim = 32, 48, 8
    unet = UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(32, 64, 64),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 1, 2),
        attention_head_dim=(2, 4, 8),
        use_linear_projection=True,
        norm_num_groups=16,
        cross_attention_dim=width + width_2,
        addition_embed_type="text_time",
        addition_time_embed_dim=time_dim,
        # 6 size/crop/target numbers, each embedded in time_dim, plus the pooled OpenCLIP embedding.
        projection_class_embeddings_input_dim=6 * time_dim + width_2,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
        scaling_factor=0.13025,
        force_upcast=True,
    )
    encoder_config = {
        "vocab_size": 49408,
        "intermediate_size": 37,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "max_position_embeddings": 77,
    }
    text_encoder = CLIPTextModel(CLIPTextConfig(**encoder_config, hidden_size=width, hidden_act="quick_gelu"))
    text_encoder_2 = CLIPTextModelWithProjection(
        CLIPTextConfig(**encoder_config, hidden_size=width_2, hidden_act="gelu", projection_dim=width_2)
    )
    # Random weights everywhere, so a tensor loaded into the wrong slot cannot match by accident (norms start at 1).
    with torch.no_grad():
        for module in (unet, vae, text_encoder, text_encoder_2):
            for parameter in module.parameters():
                parameter.normal_(0.0, 0.05)
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR / "tokenizer"),
        tokenizer_2=CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR / "tokenizer_2"),
        unet=unet,
        scheduler=EulerDiscreteScheduler.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="scheduler"),
        add_watermarker=False,
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[StableDiffusionXLPipeline, Path, Path]:
    """The tiny pipeline, its config folder, and its weights as one sgm-layout .safetensors file."""
    root = tmp_path_factory.mktemp("tiny-sdxl")
    pipeline = tiny_sdxl_pipeline()
    config_dir = root / "config"
    pipeline.save_pretrained(config_dir)
    checkpoint = root / "tiny_sd_xl_base.safetensors"
    save_file(pipeline_to_sgm(pipeline), str(checkpoint))
    return pipeline, config_dir, checkpoint


def assert_same_weights(loaded: torch.nn.Module, original: torch.nn.Module) -> None:
    expected, actual = original.state_dict(), loaded.state_dict()
    assert actual.keys() == expected.keys()
    # diffusers leaves a weight the file did not supply on the meta device rather than failing the load.
    assert [name for name, tensor in actual.items() if tensor.is_meta] == []
    different = [name for name, tensor in expected.items() if not torch.equal(actual[name], tensor)]
    assert different == []


def test_exported_checkpoint_passes_the_sdxl_base_check(exported: tuple[object, Path, Path]) -> None:
    check_sdxl_checkpoint(exported[2])


def test_from_single_file_loads_every_component_offline_from_a_config_folder(
    exported: tuple[StableDiffusionXLPipeline, Path, Path],
) -> None:
    original, config_dir, checkpoint = exported
    loaded = StableDiffusionXLPipeline.from_single_file(checkpoint, config=str(config_dir), local_files_only=True)
    assert_same_weights(loaded.unet, original.unet)
    assert_same_weights(loaded.vae, original.vae)
    assert_same_weights(loaded.text_encoder, original.text_encoder)
    assert_same_weights(loaded.text_encoder_2, original.text_encoder_2)
    assert isinstance(loaded.scheduler, EulerDiscreteScheduler)
    assert loaded.tokenizer_2.pad_token == "!"
