"""LoRAs on the tiny model: the library scan, A1111's hash, the fit check, and jobs that leave no trace."""

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from scripts.bench_loras import TEXT_TARGETS, UNET_TARGETS, Weights, lora_weights, save_diffusers_lora
from scripts.tiny_models import build_tiny_pipeline, tiny_model_dir
from worker.errors import InvalidRequest
from worker.loras import LoraFile, LoraSet, lora_hash, scan_loras
from worker.model_loader import LoadedModel, load_model
from worker.prompt_encoding import encode_prompt_pair
from worker.settings import WorkerSettings

# Beyond the usual targets, every kind of layer the SDXL-layout names have to map: resnet shortcuts and time
# projections, down/up samplers, the UNet's first and last convolutions and its time embedding.
WIDE_UNET = (
    *UNET_TARGETS,
    *("time_emb_proj", "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv", "conv_in", "conv_out"),
    "time_embedding.linear_1",
)
_RESNET_SGM = {"conv1": "in_layers.2", "conv2": "out_layers.3", "time_emb_proj": "emb_layers.1"}
_TOP_SGM = {
    "conv_in": "input_blocks.0.0",
    "conv_out": "out.2",
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
}


def sgm_name(path: str, layers_per_block: int, up_with_attention: set[int]) -> str:
    """A diffusers UNet layer's name in Stability's layout (input_blocks…), which kohya's SDXL LoRAs are named in."""
    # tests/worker/ldm_export.py's mapping, for any number of resnets per level (the tiny UNet has 1, SDXL 2).
    if path in _TOP_SGM:
        return _TOP_SGM[path]
    match = re.fullmatch(
        r"(down|up|mid)_blocks?\.(?:(\d+)\.)?(resnets|attentions|downsamplers|upsamplers)\.(\d+)\.(.+)", path
    )
    assert match, path
    kind, level, part, index, rest = match[1], int(match[2] or 0), match[3], int(match[4]), match[5]
    if part == "resnets":
        rest = _RESNET_SGM.get(rest, rest.replace("conv_shortcut", "skip_connection"))
    slot = 0 if part == "resnets" else 1
    per_level = layers_per_block + 1  # down: the resnets and a downsampler; up: one resnet more, with the upsampler
    if kind == "down":
        if part == "downsamplers":
            return f"input_blocks.{per_level * (level + 1)}.0.op"
        return f"input_blocks.{1 + per_level * level + index}.{slot}.{rest}"
    if kind == "mid":
        return f"middle_block.{1 if part == 'attentions' else 2 * index}.{rest}"
    if part == "upsamplers":
        return f"output_blocks.{per_level * level + layers_per_block}.{2 if level in up_with_attention else 1}.conv"
    return f"output_blocks.{per_level * level + index}.{slot}.{rest}"


def kohya(weights: Weights, unet_name: Callable[[str], str], metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """The same LoRA in kohya's layout: `lora_unet_<layer with _>.lora_down.weight`, `.lora_up.weight`, `.alpha`."""
    prefixes = {"unet": "lora_unet_", "text_encoder": "lora_te1_", "text_encoder_2": "lora_te2_"}
    tensors = {}
    for component, state in weights.items():
        for key, value in state.items():
            layer, part = key.rsplit(".lora_", 1)
            if component == "unet":
                layer = unet_name(layer)
            elif not layer.startswith("text_model.") and layer != "text_projection":
                layer = "text_model." + layer  # kohya names CLIP as transformers 4 did; transformers 5.6 flattened it
            name = prefixes[component] + layer.replace(".", "_")
            # alpha = rank / 2 halves the scale, the doubled lora_up restores it: the same delta by another road.
            if part == "A.weight":
                tensors[f"{name}.lora_down.weight"] = value
                tensors[f"{name}.alpha"] = torch.tensor(value.shape[0] / 2)
            else:
                tensors[f"{name}.lora_up.weight"] = value * 2
    return {"tensors": tensors, "metadata": metadata}


def sd15_shaped() -> dict[str, torch.Tensor]:
    """Layers of an SD 1.5 LoRA in PEFT's names: 320-wide blocks, a 1x1 proj_in, 768-wide text and cross-attention."""
    rank = 4
    return {
        "unet.down_blocks.0.attentions.0.proj_in.lora_A.weight": torch.randn(rank, 320, 1, 1),
        "unet.down_blocks.0.attentions.0.proj_in.lora_B.weight": torch.randn(320, rank, 1, 1),
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": torch.randn(rank, 768),
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight": torch.randn(640, rank),
        "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight": torch.randn(rank, 768),
        "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight": torch.randn(768, rank),
    }


def sd15_kohya() -> dict[str, torch.Tensor]:
    """An SD 1.5 LoRA as kohya writes it: diffusers' block names with `_`, `lora_te_` for its one text encoder."""
    rank = 4
    tensors = {}
    layers = {
        "lora_unet_down_blocks_0_attentions_0_proj_in": ((rank, 320, 1, 1), (320, rank, 1, 1)),
        "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k": ((rank, 768), (1280, rank)),
        **{f"lora_te_text_model_encoder_layers_0_self_attn_{p}_proj": ((rank, 768), (768, rank)) for p in "qkv"},
        "lora_te_text_model_encoder_layers_0_self_attn_out_proj": ((rank, 768), (768, rank)),
        "lora_te_text_model_encoder_layers_0_mlp_fc1": ((rank, 768), (3072, rank)),
    }
    for name, (down, up) in layers.items():
        tensors[f"{name}.lora_down.weight"] = torch.randn(down)
        tensors[f"{name}.lora_up.weight"] = torch.randn(up)
        tensors[f"{name}.alpha"] = torch.tensor(float(rank))
    return tensors


@dataclass(frozen=True)
class Library:
    loras: Path
    files: dict[str, LoraFile]


@pytest.fixture(scope="module")
def source() -> Any:
    """A clean tiny pipeline the LoRAs are made for, never given one: kohya's SGM names assume SDXL's block layout,
    which the tiny model's two levels keep (the demo model's three levels with attention only at the deepest do not)."""
    return build_tiny_pipeline()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, source: Any) -> Library:
    models = tmp_path_factory.mktemp("models")
    loras = models / "loras"
    text = {"text_encoder": TEXT_TARGETS, "text_encoder_2": TEXT_TARGETS}
    save_diffusers_lora(lora_weights(source, 1, {"unet": UNET_TARGETS}), loras / "unet.safetensors")
    save_diffusers_lora(lora_weights(source, 2, {"unet": UNET_TARGETS}), loras / "style" / "ink v1.2.safetensors")
    save_diffusers_lora(lora_weights(source, 3, text), loras / "te.safetensors")
    both = lora_weights(source, 4, {"unet": WIDE_UNET, **text})
    save_diffusers_lora(both, loras / "both.safetensors")
    config = source.unet.config
    up_with_attention = {i for i, kind in enumerate(config.up_block_types) if "CrossAttn" in kind}
    (loras / "kohya").mkdir()
    for name, unet_name in {
        # What kohya's sd-scripts writes for SDXL (Stability's block names), and what it writes for SD 1.x: diffusers'
        # block names with `_`.
        "both_sgm": lambda layer: sgm_name(layer, config.layers_per_block, up_with_attention),
        "both_flat": lambda layer: layer,
    }.items():
        layout = kohya(both, unet_name, {"ss_output_name": "Both Kohya"})
        save_file(layout["tensors"], loras / "kohya" / f"{name}.safetensors", metadata=layout["metadata"])
    save_file(sd15_shaped(), loras / "sd15.safetensors", metadata={"ss_base_model_version": "sd_v1"})
    save_file(sd15_kohya(), loras / "sd15_kohya.safetensors")
    text_only = {k: v for k, v in sd15_shaped().items() if k.startswith("text_encoder.")}
    save_file(text_only, loras / "sd15_text.safetensors")
    # kohya's names for q, v and the MLP but no out_proj: diffusers then leaves q and v out without a word.
    half = kohya(lora_weights(source, 5, {"text_encoder": ("q_proj", "v_proj", "fc1")}), str)
    save_file(half["tensors"], loras / "half_te.safetensors")
    save_file({"model.diffusion_model.conv_in.weight": torch.zeros(4, 4)}, loras / "checkpoint.safetensors")
    (loras / "broken.safetensors").write_bytes(b"not a safetensors file")
    (loras / ".hidden.safetensors").write_bytes((loras / "unet.safetensors").read_bytes())
    (loras / "notes.txt").write_text("not a LoRA")
    outside = models / "elsewhere.safetensors"
    outside.write_bytes((loras / "unet.safetensors").read_bytes())
    (loras / "escape.safetensors").symlink_to(outside)
    (loras / "linked.safetensors").symlink_to(loras / "unet.safetensors")
    (loras / "style" / "loop").symlink_to(loras / "style", target_is_directory=True)
    return Library(loras, scan_loras(loras))


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    """This module's own tiny model: adapters wrap its layers, so no other test's model is touched."""
    return load_model(WorkerSettings(PY_MODEL_PATH=str(tiny_model_dir()), WORKER_DEVICE="cpu"))


def pixels(pipeline: Any) -> torch.Tensor:
    """A short generation: the same seed, so any difference is the LoRAs'."""
    generator = torch.Generator(device="cpu").manual_seed(7)
    with torch.inference_mode():
        images = pipeline(
            prompt="a lighthouse",
            negative_prompt="blurry",
            width=128,
            height=128,
            num_inference_steps=3,
            generator=generator,
            output_type="pt",
        ).images
    return images


@pytest.fixture(scope="module")
def before(model: LoadedModel) -> torch.Tensor:
    """The model's pixels before any LoRA was loaded into it."""
    return pixels(model.pipeline)


@pytest.fixture
def loras(model: LoadedModel, before: torch.Tensor) -> Iterator[LoraSet]:
    lora_set = LoraSet(model.pipeline, cache_size=4)
    yield lora_set
    lora_set.clear()


def job(lora_set: LoraSet, pipeline: Any, *loras: tuple[LoraFile, float]) -> torch.Tensor:
    with lora_set.activate(list(loras)):
        return pixels(pipeline)


def test_the_scan_names_every_lora_by_its_path_below_the_folder(library: Library) -> None:
    assert set(library.files) == {
        "unet",
        "linked",
        "style/ink v1.2",
        "te",
        "both",
        "kohya/both_sgm",
        "kohya/both_flat",
        "sd15",
        "sd15_kohya",
        "sd15_text",
        "half_te",
        "checkpoint",
    }  # not broken, .hidden, notes.txt, escape (a link out of the folder); style/loop walked once
    ink = library.files["style/ink v1.2"]
    assert ink.path == library.loras / "style" / "ink v1.2.safetensors"
    assert ink.relative == "loras/style/ink v1.2.safetensors"
    assert ink.alias == "ink v1.2"  # no ss_output_name: the stem, as A1111
    stat = ink.path.stat()
    assert (ink.size, ink.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    assert library.files["kohya/both_sgm"].alias == "Both Kohya"
    assert scan_loras(library.loras / "missing") == {}


def test_the_hash_is_a1111s_sha256_of_the_tensors_after_the_header(library: Library, tmp_path: Path) -> None:
    path = library.files["unet"].path
    data = path.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    assert lora_hash(path) == hashlib.sha256(data[header_end:]).hexdigest()[:12]
    # Metadata is outside what is hashed; kohya's sshs_model_hash, where written, is taken as it is.
    tensors = {"lora_unet_x.lora_down.weight": torch.ones(2, 2)}
    save_file(tensors, tmp_path / "a.safetensors", metadata={"ss_output_name": "a"})
    save_file(tensors, tmp_path / "b.safetensors", metadata={"ss_output_name": "something else entirely"})
    assert lora_hash(tmp_path / "a.safetensors") == lora_hash(tmp_path / "b.safetensors")
    save_file(tensors, tmp_path / "c.safetensors", metadata={"sshs_model_hash": "0123456789abcdef" * 4})
    assert lora_hash(tmp_path / "c.safetensors") == "0123456789ab"


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
def test_a_lora_changes_the_image_and_leaves_no_trace(
    model: LoadedModel, library: Library, loras: LoraSet, before: torch.Tensor, fuse: bool
) -> None:
    loras.fuse = fuse
    during = job(loras, model.pipeline, (library.files["unet"], 1.0))
    assert (during - before).abs().max() > 0.01
    assert torch.equal(pixels(model.pipeline), before)  # still loaded, not active: bit for bit
    assert loras.loaded == ["unet"]
    assert torch.equal(job(loras, model.pipeline, (library.files["unet"], 1.0)), during)
    loras.clear()
    assert torch.equal(pixels(model.pipeline), before)


def test_fused_and_unfused_give_the_same_image(model: LoadedModel, library: Library, loras: LoraSet) -> None:
    both = (library.files["both"], 0.8)
    fused = job(loras, model.pipeline, both)
    loras.fuse = False
    torch.testing.assert_close(job(loras, model.pipeline, both), fused, atol=1e-4, rtol=0)


def test_weight_zero_is_the_image_without_the_lora(
    model: LoadedModel, library: Library, loras: LoraSet, before: torch.Tensor
) -> None:
    unet, ink = library.files["unet"], library.files["style/ink v1.2"]
    # Identical, not close: a LoRA at weight 0 is left out of the job (its delta is exactly nothing).
    assert torch.equal(job(loras, model.pipeline, (unet, 0.0)), before)
    assert torch.equal(job(loras, model.pipeline, (unet, 1.0), (ink, 0.0)), job(loras, model.pipeline, (unet, 1.0)))
    # A repeated LoRA adds its weights, as A1111 applies a repeated tag twice.
    assert torch.equal(job(loras, model.pipeline, (unet, 0.5), (unet, 0.5)), job(loras, model.pipeline, (unet, 1.0)))
    half = job(loras, model.pipeline, (unet, 0.5))
    assert not torch.equal(half, before)
    assert not torch.equal(half, job(loras, model.pipeline, (unet, 1.0)))
    assert torch.equal(job(loras, model.pipeline, (unet, 0.5), (unet, -0.5)), before)


def test_kohya_layouts_give_the_image_of_the_diffusers_layout(
    model: LoadedModel, library: Library, loras: LoraSet, before: torch.Tensor
) -> None:
    want = job(loras, model.pipeline, (library.files["both"], 1.0))
    assert (want - before).abs().max() > 0.01
    for name in ("kohya/both_sgm", "kohya/both_flat"):
        torch.testing.assert_close(job(loras, model.pipeline, (library.files[name], 1.0)), want, atol=1e-5, rtol=0)


def test_a_weight_multiplies_alpha_over_rank_times_up_times_down(
    model: LoadedModel, library: Library, loras: LoraSet
) -> None:
    # kohya's meaning of a file (and A1111's, network_lora.py): W + weight * alpha / rank * up @ down, here with
    # alpha = rank / 2, on layers outside the blocks, where diffusers expands a weight per block.
    lora = library.files["kohya/both_sgm"]
    tensors = load_file(lora.path)
    unet = model.pipeline.unet
    layers = {"time_embed_0": "time_embedding.linear_1", "input_blocks_0_0": "conv_in", "out_2": "conv_out"}

    def weight(path: str) -> torch.Tensor:
        module = unet.get_submodule(path)
        return getattr(module, "base_layer", module).weight.detach().clone()

    own = {path: weight(path) for path in layers.values()}
    with loras.activate([(lora, 0.5)]):
        for name, path in layers.items():
            down, up, alpha = (
                tensors[f"lora_unet_{name}.{part}"] for part in ("lora_down.weight", "lora_up.weight", "alpha")
            )
            delta = torch.einsum("or,ri...->oi...", up.flatten(1), down) * alpha / down.shape[0]
            torch.testing.assert_close(weight(path), own[path] + 0.5 * delta)
    for path in layers.values():
        assert torch.equal(weight(path), own[path])


def test_a_text_encoder_lora_changes_the_embeddings_and_the_cache_key(
    model: LoadedModel, library: Library, loras: LoraSet
) -> None:
    te, unet = library.files["te"], library.files["unet"]

    def embeddings() -> tuple[torch.Tensor, ...]:
        with torch.inference_mode():
            return tuple(encode_prompt_pair(model.pipeline, "a lighthouse", "blurry"))

    plain = embeddings()
    with loras.activate([(te, 1.0)]):
        changed = embeddings()
    with loras.activate([(unet, 1.0)]):
        unet_only = embeddings()
    for a, b, c, d in zip(changed, plain, embeddings(), unet_only, strict=True):
        assert not torch.equal(a, b)  # both encoders' hidden states and the pooled vector
        assert torch.equal(c, b) and torch.equal(d, b)
    assert loras.text_encoder_key([]) == loras.text_encoder_key([(unet, 1.0), (te, 0.0)]) == ()
    key = loras.text_encoder_key([(unet, 1.0), (te, 0.5)])
    assert key == (("te", te.size, te.mtime_ns, 0.5),)
    assert key != loras.text_encoder_key([(te, 1.0)])
    assert loras.text_encoder_key([(library.files["both"], 1.0)]) != ()


def test_loras_on_the_unet_and_on_the_text_encoders_add_up_in_one_job(
    model: LoadedModel, library: Library, loras: LoraSet, before: torch.Tensor
) -> None:
    unet, te = (library.files["unet"], 1.0), (library.files["te"], 1.0)
    together = job(loras, model.pipeline, unet, te)
    assert not torch.equal(together, job(loras, model.pipeline, unet))
    assert not torch.equal(together, job(loras, model.pipeline, te))
    assert torch.equal(pixels(model.pipeline), before)


@pytest.mark.parametrize("name", ["sd15", "sd15_kohya"])
def test_a_lora_for_sd15_is_refused_in_one_line_before_anything_loads(
    model: LoadedModel, library: Library, loras: LoraSet, before: torch.Tensor, name: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        loras.check(name, library.files[name].path)
    message = refused.value.message
    assert re.fullmatch(rf"lora '{name}' is not for this model \(.+: .+\)", message), message
    assert "\n" not in message
    with pytest.raises(InvalidRequest), loras.activate([(library.files[name], 1.0)]):
        pytest.fail("a job with a LoRA for another model must not start")
    assert loras.loaded == []
    assert torch.equal(pixels(model.pipeline), before)


def test_the_refusal_says_which_layer_does_not_fit_and_why(library: Library, loras: LoraSet) -> None:
    with pytest.raises(InvalidRequest) as refused:
        loras.check("sd15", library.files["sd15"].path)
    assert refused.value.message == (
        "lora 'sd15' is not for this model (unet.down_blocks.0.attentions.0.proj_in: no such layer; "
        "3 of 3 layers do not fit; trained on sd_v1)"
    )
    with pytest.raises(InvalidRequest) as refused:
        loras.check("sd15_kohya", library.files["sd15_kohya"].path)
    assert refused.value.message == (
        "lora 'sd15_kohya' is not for this model (unet.down_blocks.0.attentions.0.proj_in: no such layer; "
        "7 of 7 layers do not fit)"
    )
    # A layer that is there but of another width says both shapes and the layer's own.
    with pytest.raises(
        InvalidRequest, match=r"q_proj: lora_A \[4, 768\] and lora_B \[768, 4\] do not fit its Linear 32->32"
    ):
        loras.check("sd15 text", library.loras / "sd15_text.safetensors")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("half_te", r"text_encoder\..*to_q_lora.*: a weight diffusers would leave out"),
        ("checkpoint", r"not a LoRA layout diffusers reads: 'model\.diffusion_model\.conv_in\.weight' is not a LoRA"),
    ],
)
def test_what_diffusers_would_load_partly_or_not_at_all_is_refused(
    library: Library, loras: LoraSet, name: str, why: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        loras.check(name, library.files[name].path)
    assert re.fullmatch(rf"lora '{name}' cannot be loaded \({why}.*\)", refused.value.message), refused.value.message


def test_a_file_changed_or_gone_after_the_scan_is_refused_not_a_crash(
    model: LoadedModel, library: Library, loras: LoraSet, before: torch.Tensor, tmp_path: Path
) -> None:
    folder = tmp_path / "loras"
    folder.mkdir()
    (folder / "x.safetensors").write_bytes(library.files["unet"].path.read_bytes())
    (x,) = scan_loras(folder).values()
    loras.check(x.name, x.path)
    (folder / "x.safetensors").write_bytes(b"\x10" + bytes(64))
    os.utime(folder / "x.safetensors", ns=(x.mtime_ns + 10**9, x.mtime_ns + 10**9))
    with pytest.raises(InvalidRequest, match=r"^lora 'x' cannot be loaded \(not a \.safetensors file"):
        job(loras, model.pipeline, (x, 1.0))
    (folder / "x.safetensors").unlink()
    with pytest.raises(InvalidRequest, match=r"^lora 'x' cannot be loaded \("):
        job(loras, model.pipeline, (x, 1.0))
    assert loras.loaded == []
    assert torch.equal(pixels(model.pipeline), before)


def test_the_least_recently_used_lora_is_unloaded(model: LoadedModel, library: Library, before: torch.Tensor) -> None:
    lora_set = LoraSet(model.pipeline, cache_size=2)
    unet, ink, te = library.files["unet"], library.files["style/ink v1.2"], library.files["te"]
    first = job(lora_set, model.pipeline, (unet, 1.0))
    for lora in (ink, unet, te):
        job(lora_set, model.pipeline, (lora, 1.0))
    assert lora_set.loaded == ["unet", "te"]  # ink was the least recently used
    adapters = [name for names in model.pipeline.get_list_adapters().values() for name in names]
    assert len(set(adapters)) == 2
    # A job may use more LoRAs than the cache holds; afterwards the cache is trimmed again.
    job(lora_set, model.pipeline, (unet, 1.0), (ink, 1.0), (te, 1.0))
    assert len(lora_set.loaded) == 2
    lora_set.clear()
    assert lora_set.loaded == []
    assert not any(model.pipeline.get_list_adapters().values())
    assert torch.equal(pixels(model.pipeline), before)
    assert torch.equal(job(lora_set, model.pipeline, (unet, 1.0)), first)  # loaded again, the same image
    lora_set.clear()


def test_loras_reach_attention_behind_fused_qkv_projections(library: Library) -> None:
    plain, fused = build_tiny_pipeline(), build_tiny_pipeline()
    fused.fuse_qkv_projections()  # what worker/speedups.py does on CUDA
    for pipeline in (plain, fused):
        pipeline.set_progress_bar_config(disable=True)
    base = pixels(fused)
    unet = (library.files["unet"], 1.0)
    want = job(LoraSet(plain, 1), plain, unet)
    got = job(LoraSet(fused, 1), fused, unet)
    assert (got - base).abs().max() > 0.01
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
    assert torch.equal(pixels(fused), base)
