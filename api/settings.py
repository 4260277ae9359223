"""The gateway's settings, read from the environment and the repo-root .env (environment wins)."""

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.targets import FORMS, WorkerTarget, join_host_port, parse_target

# api/settings.py -> repo root; computed from the package so `python -m api` works from any directory.
REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = REPO_ROOT / ".env"

Port = Annotated[int, Field(ge=1, le=65535)]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]
LogFormat = Literal["text", "json"]
_DIGEST = re.compile(r"[0-9a-f]{64}")
# Settings whose values must never be echoed, not even in the message about a bad one (api/__main__.py); a
# database URL may hold a password.
SECRET_SETTINGS = frozenset({"api_keys", "api_database_url"})


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
    api_max_image_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        le=256 * 1024 * 1024,
        description="Largest body of a request that carries an init image or a mask (413 above).",
    )
    api_log_level: LogLevel = Field(default="info", description="Log level of the gateway and uvicorn.")
    api_log_format: LogFormat = Field(
        default="text", description="text: one line per record; json: one JSON object per line (with request_id)."
    )
    # SecretStr: a key never shows in a repr, a log line or a validation message.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="API keys (comma-separated); when set (or API_KEYS_FILE), every route but /health and /ready "
        "needs Authorization: Bearer <key>.",
    )
    api_keys_file: FilePath | None = Field(
        default=None,
        description="A file of SHA-256 hex digests of the API keys, one per line (# starts a comment).",
    )
    api_rate_limit_per_minute: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Generations one API key (or one client address, without keys) may start per minute; 0: no limit.",
    )
    api_grpc_tls_ca: FilePath | None = Field(
        default=None, description="PEM CA that signed the workers' certificates; set: the gateway dials TLS."
    )
    api_grpc_tls_cert: FilePath | None = Field(
        default=None, description="PEM client certificate for workers that require one (mTLS); with API_GRPC_TLS_KEY."
    )
    api_grpc_tls_key: FilePath | None = Field(default=None, description="PEM private key of API_GRPC_TLS_CERT.")
    api_grpc_tls_server_name: str = Field(
        default="",
        description="The name checked in the workers' certificates, when it is not the host the gateway dials.",
    )

    api_gallery: bool = Field(
        default=True, description="Keep every answered image in the gallery (GET /images); false: keep none."
    )
    api_data_dir: Path = Field(
        default=REPO_ROOT / "data",
        description="Where the gallery's files (and its SQLite database) live; a volume in compose and Kubernetes.",
    )
    api_database_url: str = Field(
        default="",
        description="The gallery's database: empty for SQLite at API_DATA_DIR/gallery.db, or postgresql://... for "
        "several gateways sharing one gallery (they then share API_DATA_DIR too).",
    )
    api_gallery_max_images: int = Field(
        default=0, ge=0, description="Most images the gallery keeps; past it the oldest unstarred go. 0: no limit."
    )
    api_gallery_max_bytes: int = Field(
        default=0, ge=0, description="Most bytes of image files the gallery keeps (oldest unstarred go). 0: no limit."
    )

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

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in (p.strip() for p in value.split(",")) if part]
        return value

    @field_validator("api_keys_file")
    @classmethod
    def _check_digests(cls, path: Path | None) -> Path | None:
        if path is not None:
            read_digests(path)  # a ValueError here names the line that is not a digest
        return path

    @model_validator(mode="after")
    def _check_tls(self) -> Self:
        if (self.api_grpc_tls_cert is None) != (self.api_grpc_tls_key is None):
            raise ValueError("API_GRPC_TLS_CERT and API_GRPC_TLS_KEY go together (the client certificate and its key)")
        if self.api_grpc_tls_server_name and not self.grpc_tls:
            raise ValueError("API_GRPC_TLS_SERVER_NAME needs TLS: set API_GRPC_TLS_CA (or a client certificate)")
        return self

    @field_validator("rpc_target")
    @classmethod
    def _check_target(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_target(value)  # a ValueError here names the form that was expected
        return value

    @field_validator("api_log_level", "api_log_format", mode="before")
    @classmethod
    def _lower_level(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("api_database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("postgresql://", "postgresql+psycopg://", "sqlite:///")):
            # The URL is not echoed: it may hold a password.
            raise ValueError("must be empty (SQLite in API_DATA_DIR), postgresql://user:pass@host/db or sqlite:///path")
        return value

    @property
    def database_url(self) -> str:
        """SQLAlchemy's URL of the gallery: API_DATABASE_URL (psycopg 3 for PostgreSQL), or the SQLite file."""
        if not self.api_database_url:
            return f"sqlite:///{self.api_data_dir / 'gallery.db'}"
        # SQLAlchemy reads plain postgresql:// as psycopg2; the driver installed is psycopg 3.
        return self.api_database_url.replace("postgresql://", "postgresql+psycopg://", 1)

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

    @property
    def api_key_digests(self) -> list[bytes]:
        """SHA-256 digests of every accepted key: API_KEYS hashed, and API_KEYS_FILE's lines; empty: keys are off."""
        digests = [hashlib.sha256(key.get_secret_value().encode()).digest() for key in self.api_keys]
        if self.api_keys_file is not None:
            digests += read_digests(self.api_keys_file)
        return digests

    @property
    def grpc_tls(self) -> bool:
        """Whether the gateway dials the workers over TLS: a CA or a client certificate is set."""
        return self.api_grpc_tls_ca is not None or self.api_grpc_tls_cert is not None


def read_digests(path: Path) -> list[bytes]:
    """The digests in a keys file: one SHA-256 hex digest per line; blank lines and # comments are skipped."""
    digests = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip().lower()
        if not text:
            continue
        if not _DIGEST.fullmatch(text):
            # The line is not shown: it might be a key pasted where its digest belongs.
            raise ValueError(
                f"{path} line {number} is not a SHA-256 hex digest (64 hex digits); "
                "write `printf %s KEY | sha256sum` output, not the key"
            )
        digests.append(bytes.fromhex(text))
    return digests
