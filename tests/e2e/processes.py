"""Starts the real worker and api as processes on free ports, and stops them; used by the end-to-end tests."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = REPO_ROOT / ".cache" / "test-logs"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Service:
    """A running `python -m <module>` with its port and log file."""

    module: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> "Service":
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PY_", "API_", "RPC_", "WORKER_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def start_worker(name: str, port: int | None = None, **settings: str) -> Service:
    """Start `python -m worker` (the demo model unless settings say otherwise) and wait until it is SERVING."""
    port = port or free_port()
    env = _env({"PY_PORT": str(port), "WORKER_HOST": "127.0.0.1", "PY_MODEL_PATH": "", **settings})
    worker = Service("worker", port, env, LOG_DIR / f"worker-{name}.log").start()
    wait_for_worker(worker)
    return worker


def wait_for_worker(worker: Service, timeout: float = 180) -> None:
    """Poll the standard gRPC health service until it answers SERVING."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{worker.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert worker.process is not None
            if worker.process.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.process.returncode}:\n{worker.log()}")
            try:
                status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"worker not SERVING after {timeout}s:\n{worker.log()}")


def start_api(name: str, worker_port: int, **settings: str) -> Service:
    """Start `python -m api` in front of the worker on worker_port and wait until /health answers."""
    port = free_port()
    env = _env(
        {"API_PORT": str(port), "API_HOST": "127.0.0.1", "RPC_PEER": "127.0.0.1", "RPC_PORT": str(worker_port)}
        | settings
    )
    api = Service("api", port, env, LOG_DIR / f"api-{name}.log").start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert api.process is not None
        if api.process.poll() is not None:
            raise RuntimeError(f"api exited with {api.process.returncode}:\n{api.log()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return api
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"api not answering after 60s:\n{api.log()}")
