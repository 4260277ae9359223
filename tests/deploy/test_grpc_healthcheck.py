"""deploy/docker/grpc_healthcheck.py, the worker image's HEALTHCHECK: exit 0 only while the worker is SERVING."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.api.fakes import FakeWorker, free_port, start_fake_worker
from tests.deploy.tools import ROOT

SCRIPT = ROOT / "deploy" / "docker" / "grpc_healthcheck.py"


@pytest.fixture
def worker() -> Iterator[FakeWorker]:
    """A real gRPC server with the standard health service."""
    fake = start_fake_worker()
    yield fake
    fake.server.stop(grace=None)


def check(port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PY_PORT": str(port), "HEALTHCHECK_TIMEOUT": "2"}
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)


def test_healthy_while_the_worker_is_serving(worker: FakeWorker) -> None:
    result = check(worker.port)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"127.0.0.1:{worker.port}: SERVING"


def test_unhealthy_while_the_worker_loads_or_drains(worker: FakeWorker) -> None:
    worker.set_serving(False)
    result = check(worker.port)
    assert result.returncode == 1
    assert "NOT_SERVING" in result.stdout


def test_unhealthy_when_nothing_listens() -> None:
    result = check(free_port())
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr
