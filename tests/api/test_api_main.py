"""`python -m api`: a real uvicorn process that logs its URL, and one clear line for a bad setting."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from scripts.devstack import free_port, start_api

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_api_serves_health_and_logs_its_url() -> None:
    api = start_api("main", free_port())  # no worker there: /ready is a 503
    try:
        assert httpx.get(f"http://127.0.0.1:{api.port}/health", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{api.port}/ready", timeout=5).status_code == 503
    finally:
        api.stop()
    assert api.process is not None
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why it stopped.
    assert api.process.returncode in (0, -signal.SIGTERM)
    output = api.log()
    assert "Finished server process" in output
    assert f"api on http://127.0.0.1:{api.port} (docs at /docs), worker at 127.0.0.1:" in output


def test_a_worker_still_loading_is_said_once_not_once_a_poll() -> None:
    api = start_api("waiting", free_port())
    try:
        for _ in range(5):  # the page polls /ready every second while the worker loads
            assert httpx.get(f"http://127.0.0.1:{api.port}/ready", timeout=5).status_code == 503
    finally:
        api.stop()
    output = api.log()
    assert output.count("waiting for the worker at") == 1, output
    assert "WARNING" not in output, output


def test_python_m_api_refuses_a_bad_setting_in_one_line() -> None:
    env = {**os.environ, "API_PORT": "99999"}
    result = subprocess.run(
        [sys.executable, "-m", "api"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "api: invalid setting API_PORT: Input should be less than or equal to 65535 (got 99999)"
    ]
