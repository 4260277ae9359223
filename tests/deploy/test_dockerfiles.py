"""The Dockerfiles pass hadolint, keep the promises of the issue, and their build contexts leave heavy things out."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.tools import DOCKERFILES, ROOT, copy_sources, dockerignored, tool

ROOT_IGNORE = ROOT / ".dockerignore"
WEB_IGNORE = ROOT / "web" / ".dockerignore"


def instructions(dockerfile: Path, name: str) -> list[str]:
    """The arguments of every `name` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    return [line.split(None, 1)[1] for line in text.splitlines() if line.split(None, 1)[:1] == [name]]


@pytest.mark.parametrize("service", sorted(DOCKERFILES))
def test_dockerfile_passes_hadolint(service: str) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILES[service])], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_that_breaks_a_rule(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install requests\n")
    result = subprocess.run([tool("hadolint"), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag


@pytest.mark.parametrize("service", sorted(DOCKERFILES))
def test_every_image_runs_as_a_numeric_non_root_user(service: str) -> None:
    users = instructions(DOCKERFILES[service], "USER")
    # Numeric, so Kubernetes' runAsNonRoot can check it; the last USER is the one the container runs as.
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) != 0, users


@pytest.mark.parametrize("service", sorted(DOCKERFILES))
def test_every_image_has_a_health_check(service: str) -> None:
    assert instructions(DOCKERFILES[service], "HEALTHCHECK")


def test_worker_builds_on_nvidias_pytorch_image_and_keeps_its_torch() -> None:
    dockerfile = DOCKERFILES["worker"]
    assert instructions(dockerfile, "FROM") == ["nvcr.io/nvidia/pytorch:25.09-py3"]
    (install,) = [run for run in instructions(dockerfile, "RUN") if "pip install" in run]
    # The image's torch packages are written down first, installed under that constraint, and checked after.
    assert install.index("> /etc/pip/keep-torch.txt") < install.index("PIP_CONSTRAINT=/etc/pip/keep-torch.txt")
    assert '".[worker]"' in install
    assert "diff /etc/pip/keep-torch.txt -" in install


def test_worker_health_check_uses_the_grpc_health_protocol() -> None:
    dockerfile = DOCKERFILES["worker"]
    (healthcheck,) = instructions(dockerfile, "HEALTHCHECK")
    assert "/usr/local/bin/grpc-healthcheck" in healthcheck
    assert "deploy/docker/grpc_healthcheck.py /usr/local/bin/grpc-healthcheck" in instructions(dockerfile, "COPY")


def test_api_image_is_slim_python_with_the_api_extra_only() -> None:
    dockerfile = DOCKERFILES["api"]
    assert all(re.fullmatch(r"python:3\.\d+-slim\S*( AS \w+)?", base) for base in instructions(dockerfile, "FROM"))
    installs = " ".join(run for run in instructions(dockerfile, "RUN") if "pip install" in run)
    assert '".[api]"' in installs
    assert not re.search(r"pip install[^&]*(worker\]|torch)", installs), installs


def test_web_image_is_multi_stage_and_runs_the_standalone_server() -> None:
    dockerfile = DOCKERFILES["web"]
    assert len(instructions(dockerfile, "FROM")) >= 2
    assert any("/web/.next/standalone" in copy for copy in instructions(dockerfile, "COPY"))
    assert instructions(dockerfile, "CMD")[-1] == '["node", "scripts/start.mjs"]'


@pytest.mark.parametrize(
    "path",
    [
        "models/sd_xl_base_1.0.safetensors",
        "models/stable-diffusion-xl-base-1.0/unet/diffusion_pytorch_model.safetensors",
        "models/.cache/tiny-sdxl/v1/model_index.json",
        ".venv/bin/python",
        "web/node_modules/next/package.json",
        "web/.next/standalone/server.js",
        ".cache/test-logs/api.log",
        ".git/HEAD",
        "api/__pycache__/app.cpython-311.pyc",
        "img_generator.egg-info/PKG-INFO",
        ".env",
    ],
)
def test_root_context_leaves_out_weights_environments_and_caches(path: str) -> None:
    assert dockerignored(ROOT_IGNORE, path)


@pytest.mark.parametrize("service", ["worker", "api"])
def test_root_context_holds_everything_the_images_copy(service: str) -> None:
    sources = copy_sources(DOCKERFILES[service])
    assert sources
    for source in sources:
        assert not dockerignored(ROOT_IGNORE, source), source
    assert not dockerignored(ROOT_IGNORE, "models/sdxl-base/unet/config.json")
    # The demo model ships in the image: the default when PY_MODEL_PATH is empty.
    assert not dockerignored(ROOT_IGNORE, "models/demo-shapes/unet/diffusion_pytorch_model.safetensors")
    assert not dockerignored(ROOT_IGNORE, "proto/genproto/generator_pb2.py")


@pytest.mark.parametrize(
    "path",
    ["node_modules/next/package.json", ".next/standalone/server.js", "test-results/x.png", "tsconfig.tsbuildinfo"],
)
def test_web_context_leaves_out_node_modules_and_builds(path: str) -> None:
    assert dockerignored(WEB_IGNORE, path)


def test_web_context_holds_everything_the_image_copies() -> None:
    for source in [s for s in copy_sources(DOCKERFILES["web"]) if s != "."]:
        assert not dockerignored(WEB_IGNORE, source), source
    for path in ("src/app/page.tsx", "scripts/start.mjs", "next.config.ts", "package-lock.json"):
        assert not dockerignored(WEB_IGNORE, path), path
