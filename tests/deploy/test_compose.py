"""docker-compose.yaml and its CPU override, as `docker-compose config` (Compose v2, no engine needed) reads them."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from api.settings import ApiSettings
from tests.deploy.tools import ROOT, docker_compose, read_env
from worker.settings import WorkerSettings

BASE = ROOT / "docker-compose.yaml"
CPU = ROOT / "docker-compose.cpu.yaml"
WEB_SETTINGS = {"FE_PORT", "FE_HOST", "NEXT_PUBLIC_BASE_URL", "WEB_API_KEY"}


def compose_config(*files: Path, env_file: Path = ROOT / ".env") -> dict[str, Any]:
    """The resolved project: files merged, ${...} filled from env_file, as `docker compose up` would use it."""
    command = [docker_compose(), "--project-directory", str(ROOT), "--env-file", str(env_file)]
    for file in files:
        command += ["-f", str(file)]
    # Variables set in the environment win over the env file, so the test's own environment is left out.
    clean = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    result = subprocess.run(
        [*command, "config", "--format", "json"], capture_output=True, text=True, timeout=60, cwd=ROOT, env=clean
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def seconds(duration: str) -> float:
    """A compose duration (45s, 1m30s, 10m0s) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return compose_config(BASE)


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, Any]:
    services: dict[str, Any] = config["services"]
    return services


def test_compose_has_the_three_services(services: dict[str, Any]) -> None:
    assert set(services) == {"worker", "api", "web"}


def test_compose_config_fails_on_an_invalid_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  worker:\n    image: x\n    stop_grace_period: soon\n")
    result = subprocess.run([docker_compose(), "-f", str(broken), "config"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_worker_reserves_an_nvidia_gpu(services: dict[str, Any]) -> None:
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


def test_worker_mounts_models_read_only_at_model_mount_path(services: dict[str, Any]) -> None:
    mount_path = read_env(ROOT / ".env")["MODEL_MOUNT_PATH"]
    (volume,) = services["worker"]["volumes"]
    assert volume == {"type": "bind", "source": str(ROOT / "models"), "target": mount_path, "read_only": True}


def test_worker_is_not_published_on_the_host(services: dict[str, Any]) -> None:
    assert "ports" not in services["worker"]
    assert services["worker"]["expose"] == [read_env(ROOT / ".env")["PY_PORT"]]


def test_worker_health_check_is_the_grpc_one_of_the_image(services: dict[str, Any]) -> None:
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "python", "/usr/local/bin/grpc-healthcheck"]
    assert "/usr/local/bin/grpc-healthcheck" in (ROOT / "worker" / "Dockerfile").read_text()


def test_worker_stop_grace_period_outlasts_its_drain_grace(services: dict[str, Any]) -> None:
    worker = services["worker"]
    drain = float(worker["environment"]["WORKER_DRAIN_GRACE_SECONDS"])
    assert seconds(worker["stop_grace_period"]) > drain


def test_api_waits_for_a_healthy_worker_and_checks_its_own_readiness(services: dict[str, Any]) -> None:
    api = services["api"]
    assert api["depends_on"]["worker"]["condition"] == "service_healthy"
    assert any("/ready" in part for part in api["healthcheck"]["test"])


def test_api_balances_over_every_worker_replica(services: dict[str, Any]) -> None:
    port = read_env(ROOT / ".env")["PY_PORT"]
    assert services["api"]["environment"]["RPC_TARGET"] == f"dns:///worker:{port}"


def api_data_volume(config: dict[str, Any]) -> dict[str, Any]:
    """The api's mount at API_DATA_DIR, checked to be a named volume the project declares."""
    api = config["services"]["api"]
    (mount,) = [v for v in api["volumes"] if v["target"] == api["environment"]["API_DATA_DIR"]]
    assert mount["type"] == "volume" and mount["source"] in config["volumes"], mount
    return dict(mount)


def test_api_keeps_its_gallery_in_a_named_volume_at_api_data_dir(config: dict[str, Any]) -> None:
    api = config["services"]["api"]
    assert api["environment"]["API_DATA_DIR"] == "/data"
    mount = api_data_volume(config)
    assert mount["source"] == "api-data"
    assert not mount.get("read_only", False)
    # A fresh volume is filled from the image's folder (nocopy would leave it root-owned and unwritable).
    assert not mount.get("volume", {}).get("nocopy", False)
    assert api["environment"]["API_GALLERY"] == "true"
    assert api["environment"]["API_DATABASE_URL"] == ""


def test_api_data_dir_is_the_folder_the_image_makes_for_its_user(config: dict[str, Any]) -> None:
    dockerfile = re.sub(r"\\\n\s*", " ", (ROOT / "api" / "Dockerfile").read_text())
    data_dir = config["services"]["api"]["environment"]["API_DATA_DIR"]
    (user,) = re.findall(r"^USER (\d+)$", dockerfile, re.MULTILINE)
    # The image's own default is the same folder, so a plain `docker run` of it works too.
    assert re.search(rf"\bAPI_DATA_DIR={re.escape(data_dir)}(\s|$)", dockerfile)
    assert re.search(rf"mkdir (-p )?{re.escape(data_dir)}\b", dockerfile)
    assert re.search(rf"chown {user}:{user} {re.escape(data_dir)}\b", dockerfile)


def test_web_waits_for_a_healthy_api(services: dict[str, Any]) -> None:
    assert services["web"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_every_value_comes_from_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "PY_PORT=6000\nPY_MODEL_PATH=sd_xl_base_1.0.safetensors\nMODEL_MOUNT_PATH=/weights\n"
        "API_PORT=9000\nFE_PORT=4000\nNEXT_PUBLIC_BASE_URL=https://images.example.com/api\n"
        "WORKER_DRAIN_GRACE_SECONDS=50\nWORKER_STOP_GRACE_PERIOD=70s\n"
        "API_GALLERY=false\nAPI_GALLERY_MAX_IMAGES=500\nAPI_GALLERY_MAX_BYTES=1000000\n"
        # `make run`'s folder on the host: never the path inside the container.
        "API_DATA_DIR=/home/someone/gallery\n"
    )
    services = compose_config(BASE, env_file=env_file)["services"]
    worker, api, web = services["worker"], services["api"], services["web"]
    assert worker["environment"]["PY_PORT"] == "6000"
    assert worker["environment"]["PY_MODEL_PATH"] == "sd_xl_base_1.0.safetensors"
    assert worker["volumes"][0]["target"] == worker["environment"]["MODEL_MOUNT_PATH"] == "/weights"
    assert worker["expose"] == ["6000"]
    assert seconds(worker["stop_grace_period"]) == 70 > float(worker["environment"]["WORKER_DRAIN_GRACE_SECONDS"])
    assert api["environment"]["RPC_TARGET"] == "dns:///worker:6000"
    assert api["environment"]["API_PORT"] == "9000"
    assert api["ports"][0]["published"] == "9000" and api["ports"][0]["target"] == 9000
    # The page's origin follows FE_PORT unless API_CORS_ORIGINS says otherwise.
    assert api["environment"]["API_CORS_ORIGINS"] == "http://localhost:4000"
    assert web["environment"]["FE_PORT"] == "4000"
    assert web["environment"]["NEXT_PUBLIC_BASE_URL"] == "https://images.example.com/api"
    assert api["environment"]["API_GALLERY"] == "false"
    assert api["environment"]["API_GALLERY_MAX_IMAGES"] == "500"
    assert api["environment"]["API_GALLERY_MAX_BYTES"] == "1000000"
    assert api["environment"]["API_DATA_DIR"] == "/data"
    assert [v["target"] for v in api["volumes"]] == ["/data"]


def test_every_variable_passed_is_one_its_service_reads(services: dict[str, Any]) -> None:
    worker_names = {field.alias for field in WorkerSettings.model_fields.values()}
    api_names = {name.upper() for name in ApiSettings.model_fields}
    assert set(services["worker"]["environment"]) <= worker_names
    assert set(services["api"]["environment"]) <= api_names
    assert set(services["web"]["environment"]) <= WEB_SETTINGS


def test_cpu_override_drops_the_gpu_and_runs_the_demo_model() -> None:
    worker = compose_config(BASE, CPU)["services"]["worker"]
    assert "deploy" not in worker
    assert worker["environment"]["WORKER_DEVICE"] == "cpu"
    assert worker["environment"]["PY_MODEL_PATH"] == ""
    # The worker's caches survive restarts; the weights mount stays read-only.
    targets = {volume["target"]: volume for volume in worker["volumes"]}
    assert targets["/app/models/.cache"]["type"] == "volume"
    assert targets[read_env(ROOT / ".env")["MODEL_MOUNT_PATH"]]["read_only"] is True


def test_cpu_override_keeps_the_api_gallery_volume() -> None:
    config = compose_config(BASE, CPU)
    assert api_data_volume(config)["source"] == "api-data"
    assert set(config["volumes"]) == {"api-data", "demo-cache"}
