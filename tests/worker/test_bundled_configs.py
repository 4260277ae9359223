"""The bundled models/sdxl-base configs are SDXL base's: real tokenizers, architectures and scheduler."""

import json
from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from worker.checkpoint import BUNDLED_SDXL_CONFIG_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
# CLIP's ids: <|startoftext|> a photo of a cat <|endoftext|>, as openai/CLIP's simple tokenizer gives them.
A_PHOTO_OF_A_CAT = [49406, 320, 1125, 539, 320, 2368, 49407]


def parameter_count(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def test_bundled_config_dir_is_models_sdxl_base_in_the_repo() -> None:
    assert REPO_ROOT / "models" / "sdxl-base" == BUNDLED_SDXL_CONFIG_DIR
    assert (BUNDLED_SDXL_CONFIG_DIR / "model_index.json").is_file()


def test_bundled_model_index_names_the_sdxl_pipeline_and_its_components() -> None:
    index = json.loads((BUNDLED_SDXL_CONFIG_DIR / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionXLPipeline"
    components = {name: value for name, value in index.items() if not name.startswith("_") and isinstance(value, list)}
    assert components == {
        "scheduler": ["diffusers", "EulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    for name in components:
        assert (BUNDLED_SDXL_CONFIG_DIR / name).is_dir(), name


@pytest.mark.parametrize("folder", ["tokenizer", "tokenizer_2"])
def test_bundled_tokenizer_encodes_a_photo_of_a_cat(folder: str) -> None:
    tokenizer = CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR / folder)
    assert tokenizer("a photo of a cat").input_ids == A_PHOTO_OF_A_CAT
    assert len(tokenizer) == 49408
    assert tokenizer.model_max_length == 77


@pytest.mark.parametrize(
    ("folder", "pad_token", "pad_id"), [("tokenizer", "<|endoftext|>", 49407), ("tokenizer_2", "!", 0)]
)
def test_bundled_tokenizers_pad_as_sdxl_base_does(folder: str, pad_token: str, pad_id: int) -> None:
    # SDXL base's second tokenizer pads with "!" (id 0) as OpenCLIP does; the pad id changes the embeddings.
    tokenizer = CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR / folder)
    assert tokenizer.pad_token == pad_token
    ids = tokenizer("a photo of a cat", padding="max_length", max_length=10).input_ids
    assert ids == [*A_PHOTO_OF_A_CAT, pad_id, pad_id, pad_id]


def test_bundled_tokenizer_splits_unseen_words_into_clip_bpe_pieces() -> None:
    # Exercises the merges, not just whole-word vocabulary entries: lower-casing, punctuation and sub-words.
    tokenizer = CLIPTokenizer.from_pretrained(BUNDLED_SDXL_CONFIG_DIR / "tokenizer")
    tokens = tokenizer.tokenize("A Lighthouse at dusk, zxqv!")
    assert tokens[:4] == ["a</w>", "lighthouse</w>", "at</w>", "dusk</w>"]
    assert tokens[4] == ",</w>" and tokens[-1] == "!</w>"
    assert "".join(tokens[5:-1]).replace("</w>", "") == "zxqv"


def test_bundled_unet_config_instantiates_with_sdxl_base_parameter_count() -> None:
    config = UNet2DConditionModel.load_config(BUNDLED_SDXL_CONFIG_DIR / "unet")
    # The meta device allocates no memory: 2.6 B parameters would need 10 GB in fp32.
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config)
    assert parameter_count(unet) == 2_567_463_684
    assert unet.config.addition_embed_type == "text_time"
    assert unet.config.sample_size == 128


def test_bundled_vae_config_instantiates_with_sdxl_base_parameter_count() -> None:
    config = AutoencoderKL.load_config(BUNDLED_SDXL_CONFIG_DIR / "vae")
    with torch.device("meta"):
        vae = AutoencoderKL.from_config(config)
    assert parameter_count(vae) == 83_653_863
    # SDXL's VAE overflows in fp16; force_upcast makes the pipeline decode in fp32.
    assert vae.config.force_upcast is True
    assert vae.config.scaling_factor == 0.13025


def test_bundled_text_encoder_config_instantiates_with_clip_vit_l_parameter_count() -> None:
    config = CLIPTextConfig.from_pretrained(BUNDLED_SDXL_CONFIG_DIR / "text_encoder")
    with torch.device("meta"):
        encoder = CLIPTextModel(config)
    assert parameter_count(encoder) == 123_060_480


def test_bundled_text_encoder_2_config_instantiates_with_open_clip_bigg_parameter_count() -> None:
    config = CLIPTextConfig.from_pretrained(BUNDLED_SDXL_CONFIG_DIR / "text_encoder_2")
    with torch.device("meta"):
        encoder = CLIPTextModelWithProjection(config)
    assert parameter_count(encoder) == 694_659_840


def test_bundled_scheduler_config_loads_as_euler_discrete() -> None:
    scheduler = EulerDiscreteScheduler.from_pretrained(BUNDLED_SDXL_CONFIG_DIR, subfolder="scheduler")
    assert isinstance(scheduler, EulerDiscreteScheduler)
    assert scheduler.config.prediction_type == "epsilon"
    assert scheduler.config.timestep_spacing == "leading"
