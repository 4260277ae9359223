"""`python -m api`: a real uvicorn process that logs its URL, and one clear line for a bad setting."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.fakes import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_api_serves_health_and_logs_its_url() -> None:
    port = free_port()
    env = {**os.environ, "API_PORT": str(port), "API_HOST": "127.0.0.1", "RPC_PORT": str(free_port())}
    process = subprocess.Popen(
        [sys.executable, "-m", "api"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "python -m api did not answer"
                time.sleep(0.1)
        assert response.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 503
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why it stopped.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Finished server process" in output
    assert f"api on http://127.0.0.1:{port} (docs at /docs), worker at localhost:" in output


def test_python_m_api_refuses_a_bad_setting_in_one_line() -> None:
    env = {**os.environ, "API_PORT": "99999"}
    result = subprocess.run(
        [sys.executable, "-m", "api"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "api: invalid setting API_PORT: Input should be less than or equal to 65535 (got 99999)"
    ]
