"""The one launcher: the real worker and api as processes on free ports, waits on conditions, and clean stops."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = REPO_ROOT / ".cache" / "test-logs"


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll `condition` until it holds; TimeoutError naming `what` after `timeout` seconds.

    Used wherever a test or a script waits: for a condition, never a fixed sleep, so a loaded machine is slower
    but not wrong. `condition` may raise to stop waiting at once (e.g. the process it waits on exited).
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout:g}s")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Service:
    """A running `python -m <module>` (or `command`) with its port and log file (None: this terminal)."""

    module: str
    port: int
    env: dict[str, str]
    log_path: Path | None
    command: list[str] | None = None
    cwd: Path = REPO_ROOT
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *, own_session: bool = False) -> "Service":
        """Start it; `own_session` keeps a terminal's Ctrl+C from reaching it, so its starter stops it in order."""
        command = self.command or [sys.executable, "-m", self.module]
        log = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=log and subprocess.STDOUT,
            start_new_session=own_session,
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path is not None else "(logged to the terminal)"

    def check_alive(self) -> None:
        """Raise (with the log) if the process has exited: a wait on it would only time out."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.module} exited with {self.process.returncode}:\n{self.log()}")

    def rss_mib(self) -> float:
        """The process's resident memory now, in MiB (Linux /proc)."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for {self.module}")

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

    def stop(self, grace: float = 30) -> None:
        """SIGTERM, and SIGKILL if it has not exited within `grace` seconds."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()


def _fresh_log(name: str) -> Path:
    """A log file of this run only: a test's assertions on its log must not read an earlier run's lines."""
    path = LOG_DIR / f"{name}.log"
    path.unlink(missing_ok=True)
    return path


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PY_", "API_", "RPC_", "WORKER_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def start_worker(name: str, port: int | None = None, **settings: str) -> Service:
    """Start `python -m worker` (the demo model unless settings say otherwise) and wait until it is SERVING."""
    port = port or free_port()
    env = _env({"PY_PORT": str(port), "WORKER_HOST": "127.0.0.1", "PY_MODEL_PATH": "", **settings})
    worker = Service("worker", port, env, _fresh_log(f"worker-{name}")).start()
    wait_for_worker(worker)
    return worker


def worker_serving(worker: Service) -> bool:
    """One look at the worker's standard gRPC health service: SERVING yet? (Raises if the worker has exited.)"""
    worker.check_alive()
    with grpc.insecure_channel(f"127.0.0.1:{worker.port}") as channel:
        try:
            status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
        except grpc.RpcError:
            return False
    return bool(status.status == health_pb2.HealthCheckResponse.SERVING)


def wait_for_worker(worker: Service, timeout: float = 180) -> None:
    """Wait until the worker's health service answers SERVING."""
    wait_until(lambda: worker_serving(worker), timeout, f"worker on port {worker.port} SERVING")


def answers(url: str, service: Service | None = None, status: int = 200) -> Callable[[], bool]:
    """A condition: GET url answers `status` (and `service`, when given, is still running)."""

    def check() -> bool:
        if service is not None:
            service.check_alive()
        try:
            return httpx.get(url, timeout=2).status_code == status
        except httpx.TransportError:
            return False

    return check


def start_api(name: str, worker_port: int, port: int | None = None, **settings: str) -> Service:
    """Start `python -m api` in front of the worker on worker_port and wait until /health answers.

    Its gallery lives in a fresh temporary folder unless API_DATA_DIR is given (never the repo's data/).
    """
    port = port or free_port()
    env = _env(
        {
            "API_PORT": str(port),
            "API_HOST": "127.0.0.1",
            "RPC_PEER": "127.0.0.1",
            "RPC_PORT": str(worker_port),
            "API_DATA_DIR": tempfile.mkdtemp(prefix=f"gallery-{name}-"),
        }
        | settings
    )
    api = Service("api", port, env, _fresh_log(f"api-{name}")).start()
    wait_until(answers(f"http://127.0.0.1:{port}/health", api), 60, f"api on port {port} answering /health")
    return api
