"""The gateway's settings, read from the environment and the repo-root .env (environment wins)."""

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.targets import FORMS, WorkerTarget, join_host_port, parse_target

# api/settings.py -> repo root; computed from the package so `python -m api` works from any directory.
ENV_FILE = Path(__file__).resolve().parent.parent / ".env"

Port = Annotated[int, Field(ge=1, le=65535)]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


class ApiSettings(BaseSettings):
    """Ports, the worker's address, CORS origins, timeouts and limits; the names are the original's."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        # The shared .env also holds the worker's and the web page's settings.
        extra="ignore",
        case_sensitive=False,
    )

    api_host: str = Field(default="0.0.0.0", min_length=1, description="Interface the HTTP server binds.")
    api_port: Port = Field(default=8080, description="HTTP port of the gateway.")
    rpc_peer: str = Field(default="localhost", min_length=1, description="Host name of the gRPC worker.")
    rpc_port: Port = Field(default=50051, description="gRPC port of the worker.")
    rpc_target: str = Field(
        default="",
        description=f"The workers, balanced round-robin; when set it wins over RPC_PEER:RPC_PORT. One of: {FORMS}.",
    )
    # NoDecode: also accept the friendlier comma-separated form, not only a JSON list.
    api_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000"],
        description="Browser origins allowed to call the gateway (comma-separated or a JSON list); never *.",
    )
    api_generate_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="gRPC deadline of one generation; past it the answer is 504.",
    )
    api_ready_timeout_seconds: float = Field(
        default=2.0, gt=0, le=60, description="Deadline of the worker's health and model-info calls."
    )
    api_max_body_bytes: int = Field(
        default=65536, ge=1024, le=16 * 1024 * 1024, description="Largest accepted request body (413 above)."
    )
    api_log_level: LogLevel = Field(default="info", description="Log level of the gateway and uvicorn.")

    @field_validator("api_cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in (p.strip() for p in text.split(",")) if part]
        return value

    @field_validator("api_cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        checked = []
        for origin in origins:
            # A browser compares origins exactly, so a trailing slash would never match.
            origin = origin.strip().rstrip("/")
            if origin == "*":
                raise ValueError("'*' is not allowed: list the web page's origins, e.g. http://localhost:3000")
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(f"{origin!r} is not an origin like http://localhost:3000")
            checked.append(origin)
        return checked

    @field_validator("rpc_target")
    @classmethod
    def _check_target(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_target(value)  # a ValueError here names the form that was expected
        return value

    @field_validator("api_log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def workers(self) -> WorkerTarget:
        """The workers: RPC_TARGET when set, else the one worker at RPC_PEER:RPC_PORT."""
        if self.rpc_target:
            return parse_target(self.rpc_target)
        peer = self.rpc_peer.strip("[]")
        return parse_target(join_host_port(peer, self.rpc_port))

    @property
    def worker_target(self) -> str:
        """The gRPC target the gateway dials, e.g. host:port, dns:///worker:50051 or ipv4:a:p,b:p."""
        return self.workers.grpc_target
