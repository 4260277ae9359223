"""Choosing the weights: demo when none are configured, one clear line when a path is wrong."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.devstack import free_port
from worker.checkpoint import CheckpointError
from worker.model_loader import load_model, resolve_model_path
from worker.settings import WorkerSettings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_no_model_path_means_the_demo_model() -> None:
    assert resolve_model_path(WorkerSettings(PY_MODEL_PATH="")) is None


def test_relative_model_path_is_also_looked_up_under_the_mount_path(tmp_path: Path) -> None:
    (tmp_path / "sdxl").mkdir()
    settings = WorkerSettings(PY_MODEL_PATH="sdxl", MODEL_MOUNT_PATH=tmp_path)
    assert resolve_model_path(settings) == tmp_path / "sdxl"


def test_missing_model_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"PY_MODEL_PATH=nowhere.safetensors: no such file or folder"):
        load_model(WorkerSettings(PY_MODEL_PATH="nowhere.safetensors", MODEL_MOUNT_PATH=tmp_path))


def test_folder_that_is_not_an_sdxl_pipeline_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    with pytest.raises(CheckpointError, match=str(tmp_path)):
        load_model(WorkerSettings(PY_MODEL_PATH=str(tmp_path), WORKER_DEVICE="cpu"))


@pytest.mark.parametrize("content", [None, b"not a safetensors file at all"])
def test_worker_with_a_bad_model_path_exits_with_one_line_and_no_traceback(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "model.safetensors"
    if content is not None:
        path.write_bytes(content)
    env = {**os.environ, "PY_MODEL_PATH": str(path), "PY_PORT": str(free_port()), "WORKER_HOST": "127.0.0.1"}
    done = subprocess.run(
        [sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, done.stderr
    assert str(path) in errors[0]
    assert "Traceback" not in done.stderr


def test_worker_with_an_invalid_setting_exits_with_one_line_naming_it() -> None:
    env = {**os.environ, "PY_PORT": "not-a-port"}
    done = subprocess.run(
        [sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "PY_PORT" in done.stderr and "not-a-port" in done.stderr
    assert "Traceback" not in done.stderr
