"""Seconds per request with no LoRA, one and three, fused per job and unfused, on the demo model by default."""

import argparse
import copy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import worker.offline  # noqa: E402, F401  (before diffusers)

# isort: split
from diffusers import StableDiffusionXLPipeline  # noqa: E402
from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model  # noqa: E402

from scripts.tiny_models import demo_pipeline  # noqa: E402
from worker.loras import LoraFile, LoraSet, scan_loras  # noqa: E402
from worker.model_loader import load_model  # noqa: E402
from worker.settings import WorkerSettings  # noqa: E402

# What LoRA trainers usually target: attention, feed-forward and projections of the UNet, resnets' convolutions.
UNET_TARGETS = (
    *("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2"),
    *("conv1", "conv2"),
)
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
Weights = dict[str, dict[str, torch.Tensor]]


def lora_weights(source: Any, seed: int, targets: Mapping[str, Sequence[str]], rank: int = 4) -> Weights:
    """Random LoRA weights in PEFT's names, per component, made by PEFT on copies of a clean pipeline's parts."""
    torch.manual_seed(seed)
    weights: Weights = {}
    for component, modules in targets.items():
        if not modules:
            continue
        model = copy.deepcopy(getattr(source, component))
        # init_lora_weights=False: B random too, so the LoRA changes the image (PEFT's default B is zero).
        config = LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False, target_modules=list(modules))
        inject_adapter_in_model(config, model, adapter_name="made")
        state = get_peft_model_state_dict(model, adapter_name="made")
        weights[component] = {key: value.detach().clone().contiguous() for key, value in state.items()}
    return weights


def save_diffusers_lora(weights: Weights, path: Path) -> Path:
    """Write weights as diffusers' save_lora_weights does (`unet.…lora_A.weight`), to path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionXLPipeline.save_lora_weights(
        path.parent,
        unet_lora_layers=weights.get("unet"),
        text_encoder_lora_layers=weights.get("text_encoder"),
        text_encoder_2_lora_layers=weights.get("text_encoder_2"),
        weight_name=path.name,
    )
    return path


def _files(paths: Sequence[Path]) -> list[LoraFile]:
    by_path = {lora.path: lora for folder in {p.parent for p in paths} for lora in scan_loras(folder).values()}
    return [by_path[path] for path in paths]


def _median(run: Callable[[], Any], pipeline: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        _sync(pipeline)
        started = time.perf_counter()
        run()
        _sync(pipeline)  # a GPU runs asynchronously: time the work, not its queueing
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _sync(pipeline: Any) -> None:
    if pipeline._execution_device.type == "cuda":
        torch.cuda.synchronize(pipeline._execution_device)


def bench_lora_overhead(
    pipeline: Any, loras: list[Path], repeats: int, *, size: int = 256, steps: int = 10
) -> dict[str, float | bool]:
    """Median seconds per request (LoRAs already loaded) with none, one and three, fused per job and unfused."""

    def generate() -> torch.Tensor:
        generator = torch.Generator(device="cpu").manual_seed(1)
        with torch.inference_mode():
            images = pipeline(
                prompt="a lighthouse at dusk",
                width=size,
                height=size,
                num_inference_steps=steps,
                generator=generator,
                output_type="pt",
            ).images
        return images

    files = _files(loras)
    lora_set = LoraSet(pipeline, cache_size=len(files))
    before = generate()
    result: dict[str, float | bool] = {"none_s": _median(generate, pipeline, repeats)}
    started = time.perf_counter()
    with lora_set.activate([(lora, 0.8) for lora in files]):
        pass
    result["first_load_s"] = time.perf_counter() - started
    images = {}
    for count in sorted({1, min(3, len(files))}):
        chosen = [(lora, 0.8) for lora in files[:count]]
        for fuse in (False, True):
            lora_set.fuse = fuse

            def request(chosen: list[tuple[LoraFile, float]] = chosen) -> torch.Tensor:
                with lora_set.activate(chosen):
                    return generate()

            images[count, fuse] = request()
            result[f"{count}_{'fused' if fuse else 'unfused'}_s"] = _median(request, pipeline, repeats)
        result[f"{count}_fused_vs_unfused_max_diff"] = float((images[count, True] - images[count, False]).abs().max())
    result["identical_after"] = bool(torch.equal(before, generate()))
    lora_set.clear()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", help="WORKER_DEVICE for the demo model: cpu, cuda, auto")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    report(args.device, args.repeats, args.size, args.steps)


def report(device: str = "cpu", repeats: int = 5, size: int = 256, steps: int = 10) -> None:
    """Print the `make bench` line: per-request seconds with none, one and three tiny LoRAs, fused and unfused."""
    model = load_model(WorkerSettings(PY_MODEL_PATH="", WORKER_DEVICE=device))
    source = demo_pipeline()
    with tempfile.TemporaryDirectory() as folder:
        targets = {"unet": UNET_TARGETS, "text_encoder": TEXT_TARGETS, "text_encoder_2": TEXT_TARGETS}
        made = [lora_weights(source, seed, targets) for seed in range(3)]
        paths = [save_diffusers_lora(w, Path(folder) / f"{i}.safetensors") for i, w in enumerate(made)]
        r = bench_lora_overhead(model.pipeline, paths, repeats, size=size, steps=steps)
    print(
        f"loras on {model.name} ({model.device}, {size}px, {steps} steps, median of {repeats}): "
        f"none {r['none_s']:.3f} s; 1 LoRA unfused {r['1_unfused_s']:.3f} s, fused {r['1_fused_s']:.3f} s; "
        f"3 LoRAs unfused {r['3_unfused_s']:.3f} s, fused {r['3_fused_s']:.3f} s; first load of 3 "
        f"{r['first_load_s']:.3f} s; fused vs unfused max pixel diff {r['3_fused_vs_unfused_max_diff']:.1e}; "
        f"pixels after: {'identical' if r['identical_after'] else 'CHANGED'}"
    )


if __name__ == "__main__":
    main()
