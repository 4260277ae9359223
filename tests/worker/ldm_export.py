"""Export an SDXL pipeline's state dicts to the single-file layout of sd_xl_base_1.0.safetensors (tests only)."""

import re
from typing import Any

import torch

# Written from diffusers' scripts/convert_diffusers_to_original_sdxl.py (diffusers -> Stability's "sgm" names),
# independently of diffusers' loader, so a load of the result checks the loader rather than agreeing with itself.
# It assumes SDXL's block structure: 3 levels, 2 resnets each, up blocks of 3 resnets, 4 VAE levels.

_UNET_TOP_LEVEL = {
    "time_embedding.linear_1.": "time_embed.0.",
    "time_embedding.linear_2.": "time_embed.2.",
    "add_embedding.linear_1.": "label_emb.0.0.",
    "add_embedding.linear_2.": "label_emb.0.2.",
    "conv_in.": "input_blocks.0.0.",
    "conv_norm_out.": "out.0.",
    "conv_out.": "out.2.",
}
_UNET_RESNET = {
    "norm1.": "in_layers.0.",
    "conv1.": "in_layers.2.",
    "norm2.": "out_layers.0.",
    "conv2.": "out_layers.3.",
    "time_emb_proj.": "emb_layers.1.",
    "conv_shortcut.": "skip_connection.",
}


def _unet_key(key: str, up_blocks_with_attention: set[int]) -> str:
    for diffusers, sgm in _UNET_TOP_LEVEL.items():
        if key.startswith(diffusers):
            return sgm + key.removeprefix(diffusers)
    if match := re.match(
        r"(down|up|mid)_blocks?\.(?:(\d+)\.)?(resnets|attentions|downsamplers|upsamplers)\.(\d+)\.", key
    ):
        kind, level, part, index = match.group(1), int(match.group(2) or 0), match.group(3), int(match.group(4))
        rest = key[match.end() :]
        if part == "resnets":
            for diffusers, sgm in _UNET_RESNET.items():
                if rest.startswith(diffusers):
                    rest = sgm + rest.removeprefix(diffusers)
        # Each down level is 2 resnets (+ attentions alongside) and a downsampler: 3 input_blocks per level.
        if kind == "down":
            if part == "downsamplers":
                return f"input_blocks.{3 * (level + 1)}.0.op.{rest.removeprefix('conv.')}"
            return f"input_blocks.{3 * level + index + 1}.{0 if part == 'resnets' else 1}.{rest}"
        if kind == "mid":
            return f"middle_block.{2 * index if part == 'resnets' else 1}.{rest}"
        if part == "upsamplers":
            slot = 2 if level in up_blocks_with_attention else 1
            return f"output_blocks.{3 * level + 2}.{slot}.{rest}"
        return f"output_blocks.{3 * level + index}.{0 if part == 'resnets' else 1}.{rest}"
    raise KeyError(f"no sgm name for UNet key {key!r}")


def unet_to_sgm(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    with_attention = {int(k.split(".")[1]) for k in state_dict if k.startswith("up_blocks.") and ".attentions." in k}
    return {"model.diffusion_model." + _unet_key(k, with_attention): v for k, v in state_dict.items()}


_VAE_ATTENTION = {"group_norm.": "norm.", "to_q.": "q.", "to_k.": "k.", "to_v.": "v.", "to_out.0.": "proj_out."}


def _vae_key(key: str, levels: int) -> str:
    key = key.replace("conv_shortcut.", "nin_shortcut.").replace("conv_norm_out.", "norm_out.")
    key = re.sub(r"mid_block\.resnets\.(\d+)\.", lambda m: f"mid.block_{int(m.group(1)) + 1}.", key)
    if "mid_block.attentions.0." in key:
        key = key.replace("mid_block.attentions.0.", "mid.attn_1.")
        for diffusers, sgm in _VAE_ATTENTION.items():
            key = key.replace(diffusers, sgm)
    key = re.sub(r"down_blocks\.(\d+)\.resnets\.", r"down.\1.block.", key)
    key = re.sub(r"down_blocks\.(\d+)\.downsamplers\.0\.", r"down.\1.downsample.", key)
    # The decoder's up levels count the other way round in the original layout.
    key = re.sub(r"up_blocks\.(\d+)\.resnets\.", lambda m: f"up.{levels - 1 - int(m.group(1))}.block.", key)
    return re.sub(r"up_blocks\.(\d+)\.upsamplers\.0\.", lambda m: f"up.{levels - 1 - int(m.group(1))}.upsample.", key)


def vae_to_sgm(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    levels = 1 + max(int(k.split(".")[2]) for k in state_dict if k.startswith("decoder.up_blocks."))
    converted = {}
    for key, value in state_dict.items():
        sgm = _vae_key(key, levels)
        # The original VAE's attention projections are 1x1 convolutions, diffusers' are linear layers.
        if re.search(r"mid\.attn_1\.(q|k|v|proj_out)\.weight$", sgm):
            value = value.reshape(*value.shape, 1, 1)
        converted["first_stage_model." + sgm] = value
    return converted


def clip_l_to_sgm(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # The original layout keeps transformers' CLIPTextModel names under a "text_model." wrapper, which
    # transformers >= 5.6 no longer has.
    return {
        "conditioner.embedders.0.transformer." + (k if k.startswith("text_model.") else "text_model." + k): v
        for k, v in state_dict.items()
    }


_OPEN_CLIP = [
    ("text_model.encoder.layers.", "transformer.resblocks."),
    ("layer_norm1.", "ln_1."),
    ("layer_norm2.", "ln_2."),
    (".mlp.fc1.", ".mlp.c_fc."),
    (".mlp.fc2.", ".mlp.c_proj."),
    (".self_attn.out_proj.", ".attn.out_proj."),
    ("text_model.final_layer_norm.", "ln_final."),
    ("text_model.embeddings.token_embedding.weight", "token_embedding.weight"),
    ("text_model.embeddings.position_embedding.weight", "positional_embedding"),
]


def open_clip_to_sgm(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    converted: dict[str, torch.Tensor] = {}
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        if match := re.match(r"(.*)\.self_attn\.([qkv])_proj\.(weight|bias)$", key):
            # OpenCLIP's nn.MultiheadAttention keeps q, k and v stacked in one in_proj tensor.
            qkv.setdefault(f"{match.group(1)}.attn.in_proj_{match.group(3)}", {})[match.group(2)] = value
            continue
        if key == "text_projection.weight":
            # OpenCLIP multiplies x @ text_projection; diffusers' Linear stores the transpose.
            converted["text_projection"] = value.T.contiguous()
            continue
        for diffusers, sgm in _OPEN_CLIP:
            key = key.replace(diffusers, sgm)
        converted[key] = value
    for key, parts in qkv.items():
        for diffusers, sgm in _OPEN_CLIP:
            key = key.replace(diffusers, sgm)
        converted[key] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return {"conditioner.embedders.1.model." + k: v for k, v in converted.items()}


def pipeline_to_sgm(pipeline: Any) -> dict[str, torch.Tensor]:
    """One state dict in the layout of sd_xl_base_1.0.safetensors, from a StableDiffusionXLPipeline."""
    parts = (
        unet_to_sgm(pipeline.unet.state_dict()),
        vae_to_sgm(pipeline.vae.state_dict()),
        clip_l_to_sgm(pipeline.text_encoder.state_dict()),
        open_clip_to_sgm(pipeline.text_encoder_2.state_dict()),
    )
    merged: dict[str, torch.Tensor] = {}
    for part in parts:
        merged.update({k: v.detach().clone().contiguous() for k, v in part.items()})
    return merged
