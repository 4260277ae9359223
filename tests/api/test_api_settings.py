"""ApiSettings: the original names, the .env file, validated values."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import ENV_FILE, ApiSettings

ROOT = Path(__file__).resolve().parents[2]
NAMES = (
    "API_HOST",
    "API_PORT",
    "RPC_PEER",
    "RPC_PORT",
    "RPC_TARGET",
    "API_CORS_ORIGINS",
    "API_GENERATE_TIMEOUT_SECONDS",
    "API_READY_TIMEOUT_SECONDS",
    "API_MAX_BODY_BYTES",
    "API_LOG_LEVEL",
    "API_LOG_FORMAT",
    "API_KEYS",
    "API_KEYS_FILE",
    "API_RATE_LIMIT_PER_MINUTE",
    "API_GRPC_TLS_CA",
    "API_GRPC_TLS_CERT",
    "API_GRPC_TLS_KEY",
    "API_GRPC_TLS_SERVER_NAME",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_originals() -> None:
    settings = ApiSettings(_env_file=None)
    assert (settings.api_host, settings.api_port) == ("0.0.0.0", 8080)
    assert settings.worker_target == "localhost:50051"
    assert settings.api_cors_origins == ["http://localhost:3000"]
    assert settings.api_generate_timeout_seconds == 300
    assert settings.api_ready_timeout_seconds == 2
    assert settings.api_max_body_bytes == 65536
    assert settings.api_log_level == "info"
    # Hardening is opt-in: no keys, no rate limit, plain TCP to the workers, text logs.
    assert settings.api_key_digests == [] and settings.api_rate_limit_per_minute == 0
    assert not settings.grpc_tls and settings.api_log_format == "text"


def test_env_file_is_the_repo_root_dot_env() -> None:
    assert ENV_FILE == ROOT / ".env"


def test_reads_the_env_file_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("API_PORT=9000\nRPC_PEER=worker\nRPC_PORT=6000\nPY_MODEL_PATH=/models/x.safetensors\n")
    monkeypatch.setenv("RPC_PORT", "7000")
    settings = ApiSettings(_env_file=env_file)
    assert settings.api_port == 9000
    assert settings.worker_target == "worker:7000"


def test_cors_origins_accept_a_comma_separated_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_CORS_ORIGINS", "http://localhost:3000, https://images.example.com/")
    assert ApiSettings(_env_file=None).api_cors_origins == ["http://localhost:3000", "https://images.example.com"]
    monkeypatch.setenv("API_CORS_ORIGINS", '["http://a.example:8000"]')
    assert ApiSettings(_env_file=None).api_cors_origins == ["http://a.example:8000"]


@pytest.mark.parametrize("origins", ["*", "http://localhost:3000,*"])
def test_cors_origins_refuse_the_wildcard(monkeypatch: pytest.MonkeyPatch, origins: str) -> None:
    monkeypatch.setenv("API_CORS_ORIGINS", origins)
    with pytest.raises(ValidationError, match="'\\*' is not allowed"):
        ApiSettings(_env_file=None)


def test_cors_origins_refuse_something_that_is_not_an_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_CORS_ORIGINS", "localhost:3000")
    with pytest.raises(ValidationError, match="is not an origin"):
        ApiSettings(_env_file=None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_PORT", "0"),
        ("API_PORT", "70000"),
        ("RPC_PORT", "http"),
        ("API_GENERATE_TIMEOUT_SECONDS", "0"),
        ("API_READY_TIMEOUT_SECONDS", "-1"),
        ("API_MAX_BODY_BYTES", "10"),
        ("API_LOG_LEVEL", "loud"),
        ("API_LOG_FORMAT", "xml"),
        ("API_RATE_LIMIT_PER_MINUTE", "-1"),
        ("API_KEYS_FILE", "/no/such/file"),
    ],
)
def test_refuses_invalid_values(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        ApiSettings(_env_file=None)


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_LOG_LEVEL", "WARNING")
    assert ApiSettings(_env_file=None).api_log_level == "warning"


def test_api_keys_are_a_comma_list_held_as_digests_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS", " first-key , second-key,, ")
    settings = ApiSettings(_env_file=None)
    assert settings.api_key_digests == [hashlib.sha256(k).digest() for k in (b"first-key", b"second-key")]
    assert "first-key" not in repr(settings) and "first-key" not in str(settings.model_dump())


def test_a_keys_file_line_that_is_not_a_digest_is_refused_without_showing_it(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# comment\n{'a' * 64}\npasted-a-key-by-mistake\n")
    with pytest.raises(ValidationError) as raised:
        ApiSettings(_env_file=None, api_keys_file=keys_file)
    assert "line 3 is not a SHA-256 hex digest" in str(raised.value)
    assert "pasted-a-key-by-mistake" not in str(raised.value).replace(str(keys_file), "")


def test_python_m_api_never_prints_a_key_in_its_error_lines(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("the-secret-key-itself\n")
    env = {**os.environ, "API_KEYS": "another-secret", "API_KEYS_FILE": str(keys_file), "API_PORT": "99999"}
    result = subprocess.run(
        [sys.executable, "-m", "api"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "API_KEYS_FILE" in result.stderr and "API_PORT" in result.stderr
    assert "the-secret-key-itself" not in result.stderr and "another-secret" not in result.stderr
