"""ApiSettings: the original names, the .env file, validated values."""

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
    ],
)
def test_refuses_invalid_values(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        ApiSettings(_env_file=None)


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_LOG_LEVEL", "WARNING")
    assert ApiSettings(_env_file=None).api_log_level == "warning"
