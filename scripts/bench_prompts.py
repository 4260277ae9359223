"""A short prompt's encoding against a 2000-character weighted one's (A1111-style chunks), on the demo model."""

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import worker.offline  # noqa: E402, F401  (before diffusers)
from worker.model_loader import load_model  # noqa: E402
from worker.prompt_encoding import encode_prompt_pair  # noqa: E402
from worker.settings import WorkerSettings  # noqa: E402

SHORT = ("a lighthouse at dusk", "blurry")
_PHRASE = "(a lighthouse:1.2) on a [rocky] cliff, ((stormy sea)), golden hour BREAK "
LONG = ((_PHRASE * (2000 // len(_PHRASE) + 1))[:2000], "(blurry:1.3), [low quality], watermark")


def _median_seconds(pipeline: Any, prompt: str, negative: str, repeats: int) -> float:
    encode_prompt_pair(pipeline, prompt, negative)  # warm: first calls allocate
    runs = []
    for _ in range(repeats):
        _sync(pipeline)
        started = time.perf_counter()
        encode_prompt_pair(pipeline, prompt, negative)
        _sync(pipeline)  # a GPU runs asynchronously; time the work, not its queueing
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def _sync(pipeline: Any) -> None:
    if pipeline._execution_device.type == "cuda":
        torch.cuda.synchronize(pipeline._execution_device)


def bench_long_prompt_encoding(pipeline: Any, repeats: int = 9) -> dict[str, float]:
    """Median seconds of encode_prompt_pair for a short pair and a 2000-character weighted pair, and their ratio."""
    short = _median_seconds(pipeline, *SHORT, repeats)
    long = _median_seconds(pipeline, *LONG, repeats)
    return {"short_s": short, "long_s": long, "ratio": long / short}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", help="WORKER_DEVICE for the demo model: cpu, cuda, auto")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    model = load_model(WorkerSettings(PY_MODEL_PATH="", WORKER_DEVICE=args.device))
    result = bench_long_prompt_encoding(model.pipeline, args.repeats)
    print(
        f"prompt encoding: short {result['short_s'] * 1000:.2f} ms, "
        f"2000-char weighted {result['long_s'] * 1000:.2f} ms "
        f"({result['ratio']:.1f}x) on {model.device} ({model.dtype}), median of {args.repeats}"
    )


if __name__ == "__main__":
    main()
