"""The built-in demo model: models/demo-shapes, a small SDXL trained here on a toy world of flat shapes.

It draws what `a {color} {shape} on a {color} background` asks (its model card, models/demo-shapes/README.md,
has the grammar, the scores and the recipe: scripts/train_demo.py). It ships in the repo, so it loads offline in
a second; its own defaults and preview map are in its img-generator.json (worker/model_sidecar.py).
"""

from pathlib import Path
from typing import Final

DEMO_MODEL_NAME: Final = "demo-shapes"
# Beside the package, as models/sdxl-base is (worker/checkpoint.py): the repo and the worker image lay it out so.
DEMO_MODEL_DIR: Final = Path(__file__).resolve().parent.parent / "models" / DEMO_MODEL_NAME


def model_files(path: Path | None) -> Path:
    """Where a model's files are: its path, or the demo's folder for the demo model (path None)."""
    return DEMO_MODEL_DIR if path is None else path
