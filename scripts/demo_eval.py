"""Adherence of the demo-shapes model: does each image show the colours and the shape its caption asks for.

    nice -n 19 .venv/bin/python scripts/demo_eval.py --model models/demo-shapes --per-caption 2

Every caption of the grammar is drawn `--per-caption` times through StableDiffusionXLPipeline at the model's
defaults (its img-generator.json), with generation seeds from EVAL_SEED_BASE on (training never uses a seed
there), and scored: background = the most common colour; shape colour = among the two most common and >= 4% of
the pixels; shape kind = the fill ratio of the shape colour's bounding box, nearest of square 1, circle pi/4,
triangle 1/2.
"""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

# Run as a script (`python scripts/demo_eval.py`) or imported as `scripts.demo_eval` by the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.demo_world import COLOR_NAMES, COLORS, caption_parts

PALETTE: Final = np.array([COLORS[name] for name in COLOR_NAMES], dtype=np.float32)
# Fill ratio of a shape's bounding box: a square fills it, a circle pi/4 of it, an upright triangle half.
FILL_RATIOS: Final = {"square": 1.0, "circle": float(np.pi / 4), "triangle": 0.5}
MIN_SHAPE_SHARE: Final = 0.04
# The bar for the demo model: the share of images that pass each check.
TARGETS: Final = {"background": 0.95, "shape_color": 0.90, "shape_kind": 0.80}
# Generation seeds for evaluation start here; training draws its scenes and noise from seeds far below.
EVAL_SEED_BASE: Final = 10_000_000
# Texts outside the grammar: each must still give an image (an empty one, SDXL's zero conditioning, too).
OFF_GRAMMAR: Final = (
    "",
    "a photo of a cat",
    "a RED Circle",
    "(a blue:1.3) square, on [a] white background",
    "a green triangle on a green background",
    " ".join(["a purple square on an orange background"] * 12),
)


@dataclass(frozen=True)
class Score:
    """What one image shows against what its caption asked."""

    background_ok: bool
    color_ok: bool
    shape_ok: bool
    background: str
    shape: str | None
    shape_share: float
    fill_ratio: float


def quantize(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Each pixel's nearest colour of the palette (index into COLOR_NAMES), by RGB distance."""
    pixels = image.reshape(-1, 3).astype(np.float32)
    distances = ((pixels[:, None, :] - PALETTE[None, :, :]) ** 2).sum(axis=-1)
    labels: npt.NDArray[np.intp] = distances.argmin(axis=1).reshape(image.shape[:2])
    return labels


def fill_ratio(mask: npt.NDArray[np.bool_]) -> float:
    """Share of the bounding box of the mask's largest 8-connected blob that the mask covers (0 if empty)."""
    # The largest blob, so a few stray pixels of the shape's colour elsewhere do not stretch the box.
    blobs, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return 0.0
    sizes = np.bincount(blobs.ravel())[1:]
    rows, cols = np.nonzero(blobs == 1 + int(sizes.argmax()))
    box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return float(box.mean())


def classify_shape(ratio: float) -> str:
    """The shape whose fill ratio is nearest."""
    return min(FILL_RATIOS, key=lambda shape: abs(FILL_RATIOS[shape] - ratio))


def score(image: npt.NDArray[np.uint8], color: str, shape: str, background: str) -> Score:
    """Score one HxWx3 image against the caption `a {color} {shape} on a {background} background`."""
    labels = quantize(image)
    shares = np.bincount(labels.ravel(), minlength=len(COLOR_NAMES)) / labels.size
    ranked = [COLOR_NAMES[i] for i in np.argsort(-shares, kind="stable")]
    asked = COLOR_NAMES.index(color)
    ratio = fill_ratio(labels == asked)
    found = classify_shape(ratio) if ratio > 0 else None
    return Score(
        background_ok=ranked[0] == background,
        color_ok=bool(color in ranked[:2] and shares[asked] >= MIN_SHAPE_SHARE),
        shape_ok=found == shape,
        background=ranked[0],
        shape=found,
        shape_share=float(shares[asked]),
        fill_ratio=ratio,
    )


def summarise(scores: list[Score]) -> dict[str, float]:
    """The three adherence rates over a list of scores."""
    count = max(1, len(scores))
    return {
        "background": sum(s.background_ok for s in scores) / count,
        "shape_color": sum(s.color_ok for s in scores) / count,
        "shape_kind": sum(s.shape_ok for s in scores) / count,
    }


def evaluation_jobs(per_caption: int, every: int = 1) -> list[tuple[tuple[str, str, str], int]]:
    """(caption parts, generation seed) to score: every `every`-th caption of the grammar, `per_caption` times."""
    parts = list(caption_parts())[::every] * per_caption
    return [(caption, EVAL_SEED_BASE + index) for index, caption in enumerate(parts)]


def meets_targets(rates: dict[str, float]) -> dict[str, bool]:
    """Whether each rate reaches its target."""
    return {name: rates[name] >= target for name, target in TARGETS.items()}


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/demo-shapes"))
    parser.add_argument("--per-caption", type=int, default=2, help="images per caption (168 captions)")
    parser.add_argument("--steps", type=int, help="default: the model's own")
    parser.add_argument("--guidance", type=float, help="default: the model's own")
    parser.add_argument("--side", type=int, help="default: the model's own size")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="score only the first N prompts (0: all)")
    parser.add_argument("--json", type=Path, help="write the summary and every score here")
    parser.add_argument("--failures", type=Path, help="save the images that fail a check into this folder")
    return parser.parse_args()


def main() -> None:
    """Render the evaluation set through the pipeline, score it and print the three rates."""
    args = _parse_args()
    import torch
    from PIL import Image

    from worker.model_loader import load_model_at
    from worker.settings import WorkerSettings

    torch.set_num_threads(args.threads)
    # Loaded as the worker loads it, so its defaults are the ones a request without values gets.
    model = load_model_at(WorkerSettings(WORKER_DEVICE="cpu"), args.model.resolve())
    pipeline, defaults = model.pipeline, model.defaults
    args.steps = args.steps or defaults.steps
    args.guidance = defaults.guidance_scale if args.guidance is None else args.guidance
    args.side = args.side or defaults.width
    jobs = evaluation_jobs(args.per_caption)
    if args.limit:
        jobs = jobs[: args.limit]
    if args.failures:
        args.failures.mkdir(parents=True, exist_ok=True)
    scores: list[Score] = []
    started = time.monotonic()
    for start in range(0, len(jobs), args.batch):
        batch = jobs[start : start + args.batch]
        images = generate(
            pipeline,
            [f"a {c} {s} on a {b} background" for c, s, b in (p for p, _ in batch)],
            [seed for _, seed in batch],
            args.steps,
            args.guidance,
            args.side,
        )
        for (parts, seed), image in zip(batch, images, strict=True):
            result = score(image, *parts)
            scores.append(result)
            if args.failures and not (result.background_ok and result.color_ok and result.shape_ok):
                Image.fromarray(image).save(args.failures / f"{seed}-{'-'.join(parts)}.png")
        rates = summarise(scores)
        print(
            f"{len(scores)}/{len(jobs)} {time.monotonic() - started:.0f}s "
            + " ".join(f"{name}={rate:.3f}" for name, rate in rates.items()),
            flush=True,
        )
    for text in OFF_GRAMMAR:
        image = generate(pipeline, [text], [EVAL_SEED_BASE - 1], args.steps, args.guidance, args.side)[0]
        assert image.shape == (args.side, args.side, 3), f"no image for {text[:40]!r}"
    print(f"off-grammar prompts: {len(OFF_GRAMMAR)} images, no error")
    rates = summarise(scores)
    summary = {"images": len(scores), "steps": args.steps, "guidance": args.guidance, **rates}
    print(json.dumps(summary))
    for name, met in meets_targets(rates).items():
        print(f"{name}: {rates[name]:.1%} (target {TARGETS[name]:.0%}): {'met' if met else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "scores": [asdict(s) for s in scores]}, indent=1))


def generate(
    pipeline: object, prompts: list[str], seeds: list[int], steps: int, guidance: float, side: int
) -> list[npt.NDArray[np.uint8]]:
    """HxWx3 uint8 images for prompts, one CPU generator per image as the worker seeds them."""
    import torch

    generators = [torch.Generator(device="cpu").manual_seed(seed) for seed in seeds]
    with torch.inference_mode():
        output = pipeline(  # type: ignore[operator]
            prompt=prompts,
            width=side,
            height=side,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=generators,
            output_type="np",
        ).images
    return [np.asarray((image * 255).round().clip(0, 255), dtype=np.uint8) for image in output]


if __name__ == "__main__":
    main()
