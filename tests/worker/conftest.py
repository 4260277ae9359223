"""Shared fixtures for the worker's tests: the real demo model, loaded once per session."""

import pytest

from worker.model_loader import LoadedModel, load_model
from worker.settings import WorkerSettings


@pytest.fixture(scope="session")
def demo_model() -> LoadedModel:
    """The built-in demo model on CPU, as `python -m worker` loads it with no weights configured."""
    return load_model(WorkerSettings(PY_MODEL_PATH="", WORKER_DEVICE="cpu"))
