"""`make run`: start the worker, the api and the page with the root .env, print the URL, stop all on Ctrl+C."""

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from dotenv import dotenv_values

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.devstack import REPO_ROOT, Service, answers, wait_until, worker_serving

READY_TIMEOUT_SECONDS = 600  # the demo model loads in seconds; real SDXL weights take a while


def settings() -> dict[str, str]:
    """The root .env under the environment (the environment wins, as in the services' own settings)."""
    values = {k: v or "" for k, v in dotenv_values(REPO_ROOT / ".env").items()}
    return {**values, **os.environ}


def start(
    name: str, env: dict[str, str], command: list[str] | None = None, cwd: Path = REPO_ROOT, port: int = 0
) -> Service:
    """One service, logging to this terminal, in its own session so Ctrl+C stops it through us, in order."""
    service = Service(name, port, env, None, command, cwd)
    print(f"starting {name}", flush=True)
    return service.start(own_session=True)


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

    services = {"worker": start("worker", env, port=int(env.get("PY_PORT") or 50051)), "api": start("api", env)}
    web_server = REPO_ROOT / "web" / ".next" / "standalone" / "server.js"
    if shutil.which("node") and web_server.exists():
        services["web"] = start("web", env, ["node", "scripts/start.mjs"], REPO_ROOT / "web")
    else:
        print("web: no build or no node; serving the api only (make web-build)", file=sys.stderr)

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def up(check: Callable[[], bool]) -> Callable[[], bool]:
        def condition() -> bool:
            for service in services.values():
                service.check_alive()
            return stopping or check()

        return condition

    code = 1
    print("waiting for the worker to load its model", flush=True)
    try:
        # The worker's own health first: polling the api's /ready meanwhile would fill the log with 503s.
        wait_until(up(lambda: worker_serving(services["worker"])), READY_TIMEOUT_SECONDS, "the worker", 0.5)
        wait_until(up(answers(f"{api_url}/ready")), 60, "the api's /ready", 0.5)
    except (RuntimeError, TimeoutError) as failure:
        print(f"{str(failure).splitlines()[0]}; stopping", file=sys.stderr)
    else:
        if not stopping:
            page = f"http://localhost:{fe_port}" if "web" in services else f"{api_url}/docs"
            print(f"\nimg-generator is ready: {page}\n  api: {api_url} (docs at {api_url}/docs)")
            ready = httpx.get(f"{api_url}/ready", timeout=10).json()
            if ready.get("demoModel"):
                # What to type first: the demo model draws only its toy world.
                print(f"  model: {ready['model']}, the built-in demo model; it draws {ready.get('description', '')}")
            print("  Ctrl+C stops it.\n")
            while not stopping and all(s.process is not None and s.process.poll() is None for s in services.values()):
                time.sleep(0.5)  # waiting for Ctrl+C or a service to exit: nothing to poll for
            code = 0 if stopping else 1
    # The page and the gateway first, then the worker, which drains what it accepted.
    for name in ("web", "api", "worker"):
        if name in services:
            services[name].stop(grace=60)
    return code


if __name__ == "__main__":
    sys.exit(main())
