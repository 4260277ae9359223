"""A model folder's img-generator.json: its defaults and preview map are used; a bad one is refused by name."""

import json
import shutil
from pathlib import Path

import pytest

from worker.checkpoint import CheckpointError
from worker.demo_model import DEMO_MODEL_DIR
from worker.model_sidecar import SIDECAR_NAME, ModelSidecar, read_sidecar
from worker.previews import SDXL_PREVIEW
from worker.resident_models import estimate


def _folder_with(tmp_path: Path, sidecar: object) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(DEMO_MODEL_DIR, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    (folder / SIDECAR_NAME).write_text(json.dumps(sidecar))
    return folder


def test_a_folder_without_one_says_nothing(tmp_path: Path) -> None:
    assert read_sidecar(tmp_path) == ModelSidecar()
    assert read_sidecar(None).preview is SDXL_PREVIEW


def test_its_steps_guidance_and_description_are_known_without_loading_the_model(tmp_path: Path) -> None:
    folder = _folder_with(tmp_path, {"description": "dots", "steps": 9, "guidance_scale": 3.5})
    defaults, description = estimate(folder)
    assert (defaults.steps, defaults.guidance_scale, description) == (9, 3.5, "dots")


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({"steps": 0}, "steps: Input should be greater than or equal to 1 (got 0)"),
        ({"steps": 500}, "steps: Input should be less than or equal to 150 (got 500)"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"latent_preview": {"latent_to_rgb": [[1, 2]] * 4, "rgb_bias": [0, 0, 0]}}, "each of the 4 rows needs 3"),
    ],
)
def test_a_bad_key_is_refused_with_its_name_and_value(tmp_path: Path, content: object, named: str) -> None:
    with pytest.raises(CheckpointError, match=named.replace("(", r"\(").replace(")", r"\)")):
        read_sidecar(_folder_with(tmp_path, content))


def test_a_sidecar_that_is_not_json_is_refused(tmp_path: Path) -> None:
    folder = _folder_with(tmp_path, {})
    (folder / SIDECAR_NAME).write_text("{steps: 12")
    with pytest.raises(CheckpointError, match="not readable JSON"):
        read_sidecar(folder)
