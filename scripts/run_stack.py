"""`make run`: start the worker, the api and the page with the root .env, print the URL, stop all on Ctrl+C."""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from dotenv import dotenv_values

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 600  # the first start builds the demo model; real SDXL weights take a while to load


def settings() -> dict[str, str]:
    """The root .env under the environment (the environment wins, as in the services' own settings)."""
    values = {k: v or "" for k, v in dotenv_values(REPO_ROOT / ".env").items()}
    return {**values, **os.environ}


def start(name: str, command: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> subprocess.Popen[bytes]:
    print(f"starting {name}: {' '.join(command)}", flush=True)
    # Its own process group, so Ctrl+C here stops it through us, in order, not all at once.
    return subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)


def wait_ready(api_url: str, processes: dict[str, subprocess.Popen[bytes]]) -> bool:
    """Poll the api's /ready (200 once the worker is SERVING) while every process stays alive."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with {process.returncode}; stopping", file=sys.stderr)
                return False
        try:
            with urllib.request.urlopen(f"{api_url}/ready", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    print(f"not ready after {READY_TIMEOUT_SECONDS}s; stopping", file=sys.stderr)
    return False


def main() -> int:
    env = settings()
    api_port = env.get("API_PORT") or "8080"
    fe_port = env.get("FE_PORT") or "3000"
    api_url = f"http://localhost:{api_port}"
    env.setdefault("NEXT_PUBLIC_BASE_URL", api_url)
    env["NEXT_PUBLIC_BASE_URL"] = env["NEXT_PUBLIC_BASE_URL"] or api_url
    # The page's origin must be allowed, or the browser refuses the api's answers.
    if not env.get("API_CORS_ORIGINS"):
        env["API_CORS_ORIGINS"] = f'["http://localhost:{fe_port}", "http://127.0.0.1:{fe_port}"]'
    # The worker listens on PY_PORT; the api dials RPC_PORT. On one machine they are the same port.
    env.setdefault("RPC_PORT", env.get("PY_PORT") or "50051")

    processes = {
        "worker": start("worker", [sys.executable, "-m", "worker"], env),
        "api": start("api", [sys.executable, "-m", "api"], env),
    }
    web_server = REPO_ROOT / "web" / ".next" / "standalone" / "server.js"
    if shutil.which("node") and web_server.exists():
        processes["web"] = start("web", ["node", "scripts/start.mjs"], env, cwd=REPO_ROOT / "web")
    else:
        print("web: no build or no node; serving the api only (make web-build)", file=sys.stderr)

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 1
    if wait_ready(api_url, processes) and not stopping:
        page = f"http://localhost:{fe_port}" if "web" in processes else f"{api_url}/docs"
        print(f"\nimg-generator is ready: {page}\n  api: {api_url} (docs at {api_url}/docs)\n  Ctrl+C stops it.\n")
        while not stopping and all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        code = 0 if stopping else 1
    # The page and the gateway first, then the worker, which drains what it accepted.
    for name in ("web", "api", "worker"):
        process = processes.get(name)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
