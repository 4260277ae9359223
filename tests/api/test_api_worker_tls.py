"""TLS to the workers: the gateway dials a real worker server (worker.server.build_server) over mTLS."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.worker_client import CHANNEL_OPTIONS
from tests.api.fakes import free_port, settings_for
from tests.stand_in_worker import issue_certificates, stand_in_worker
from worker.server import GRPC_OPTIONS
from worker.settings import WorkerSettings

PROMPT = {"positivePrompt": "a lighthouse at dusk", "width": 64, "height": 64}


@dataclass
class Pki:
    ca: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path
    server_cert: Path
    server_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, the worker's certificate (for the name worker.internal only), a client certificate it signed, and
    one from another CA."""
    return Pki(**issue_certificates(tmp_path_factory.mktemp("pki"), "worker.internal"))


@pytest.fixture(scope="module")
def mtls_worker(pki: Pki) -> Iterator[int]:
    """The real worker server, requiring client certificates from the CA; yields its port."""
    port = free_port()
    settings = WorkerSettings(
        PY_PORT=port,
        WORKER_HOST="127.0.0.1",
        WORKER_TLS_CERT=pki.server_cert,
        WORKER_TLS_KEY=pki.server_key,
        WORKER_TLS_CLIENT_CA=pki.ca,
    )
    with stand_in_worker(settings, worker_id="tls-worker"):
        yield port


def gateway(make_client: Callable[..., TestClient], port: int, **tls: object) -> TestClient:
    # The certificate names worker.internal, the gateway dials 127.0.0.1: the server name says which to check.
    return make_client(port, api_generate_timeout_seconds=10, api_ready_timeout_seconds=3, **tls)


def test_a_gateway_with_the_client_certificate_is_served(
    mtls_worker: int, pki: Pki, make_client: Callable[..., TestClient]
) -> None:
    client = gateway(
        make_client,
        mtls_worker,
        api_grpc_tls_ca=pki.ca,
        api_grpc_tls_cert=pki.client_cert,
        api_grpc_tls_key=pki.client_key,
        api_grpc_tls_server_name="worker.internal",
    )
    response = client.post("/generateimage", json=PROMPT)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\x89PNG") and response.headers["x-worker"] == "tls-worker"
    # The readiness probes dial their own channels, with the same credentials.
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["workers"] == {"serving": 1, "total": 1}


def test_a_gateway_without_a_client_certificate_is_refused(
    mtls_worker: int, pki: Pki, make_client: Callable[..., TestClient]
) -> None:
    client = gateway(make_client, mtls_worker, api_grpc_tls_ca=pki.ca, api_grpc_tls_server_name="worker.internal")
    response = client.post("/generateimage", json=PROMPT)
    assert response.status_code == 503 and response.json()["error"] == "worker_unavailable"
    assert client.get("/ready").status_code == 503


def test_a_gateway_with_a_certificate_from_another_ca_is_refused(
    mtls_worker: int, pki: Pki, make_client: Callable[..., TestClient]
) -> None:
    client = gateway(
        make_client,
        mtls_worker,
        api_grpc_tls_ca=pki.ca,
        api_grpc_tls_cert=pki.stranger_cert,
        api_grpc_tls_key=pki.stranger_key,
        api_grpc_tls_server_name="worker.internal",
    )
    assert client.post("/generateimage", json=PROMPT).json()["error"] == "worker_unavailable"


def test_a_plaintext_gateway_is_refused(mtls_worker: int, make_client: Callable[..., TestClient]) -> None:
    response = gateway(make_client, mtls_worker).post("/generateimage", json=PROMPT)
    assert response.status_code == 503 and response.json()["error"] == "worker_unavailable"


def test_the_worker_certificate_must_match_the_name_dialled(
    mtls_worker: int, pki: Pki, make_client: Callable[..., TestClient]
) -> None:
    # Without API_GRPC_TLS_SERVER_NAME the name checked is 127.0.0.1, which the certificate does not name.
    client = gateway(
        make_client,
        mtls_worker,
        api_grpc_tls_ca=pki.ca,
        api_grpc_tls_cert=pki.client_cert,
        api_grpc_tls_key=pki.client_key,
    )
    assert client.post("/generateimage", json=PROMPT).status_code == 503


def test_a_client_certificate_needs_its_key(pki: Pki) -> None:
    with pytest.raises(ValidationError, match="API_GRPC_TLS_CERT and API_GRPC_TLS_KEY go together"):
        settings_for(1, api_grpc_tls_ca=pki.ca, api_grpc_tls_cert=pki.client_cert)


def test_a_server_name_without_tls_is_refused() -> None:
    with pytest.raises(ValidationError, match="API_GRPC_TLS_SERVER_NAME needs TLS"):
        settings_for(1, api_grpc_tls_server_name="worker.internal")


def test_a_missing_certificate_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="api_grpc_tls_ca"):
        settings_for(1, api_grpc_tls_ca=tmp_path / "no-such-ca.pem")


def test_the_gateways_keepalive_pings_are_within_what_the_worker_permits() -> None:
    client, server = dict(CHANNEL_OPTIONS), dict(GRPC_OPTIONS)
    assert client["grpc.keepalive_time_ms"] == 30_000 and client["grpc.keepalive_timeout_ms"] == 10_000
    assert client["grpc.keepalive_permit_without_calls"] == 1 and client["grpc.http2.max_pings_without_data"] == 0
    # More often than the worker allows, it would answer GOAWAY too_many_pings and drop the connection.
    assert client["grpc.keepalive_time_ms"] >= server["grpc.http2.min_ping_interval_without_data_ms"]
    assert server["grpc.keepalive_permit_without_calls"] == 1
