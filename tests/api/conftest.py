"""Shared fixtures: the fake worker (a real gRPC server), the app under TestClient, the app under uvicorn."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from scripts.devstack import wait_until
from tests.api.fakes import FakeWorker, LiveApi, free_port, settings_for, start_fake_worker
from tests.postgres import Cluster


@pytest.fixture
def fake_worker() -> Iterator[FakeWorker]:
    worker = start_fake_worker()
    yield worker
    worker.server.stop(grace=None)


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """Builds a TestClient (lifespan running) for a worker port and setting overrides."""
    clients: list[TestClient] = []

    def make(port: int, **overrides: object) -> TestClient:
        client = TestClient(create_app(settings_for(port, **overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(fake_worker: FakeWorker, make_client: Callable[..., TestClient]) -> TestClient:
    """The app, talking to the fake worker."""
    return make_client(fake_worker.port)


@pytest.fixture
def live_api(fake_worker: FakeWorker) -> Iterator[LiveApi]:
    """Real uvicorn in a thread: for what TestClient cannot do (chunked uploads, a client hanging up)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings_for(fake_worker.port)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "uvicorn started", interval=0.02)
    yield LiveApi(url=f"http://127.0.0.1:{port}", server=server)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The gallery's database URL, as the settings derive it, for each backend."""
    if request.param == "sqlite":
        return ApiSettings(_env_file=None, api_data_dir=tmp_path).database_url  # type: ignore[call-arg]
    cluster: Cluster = request.getfixturevalue("postgres")
    return ApiSettings(_env_file=None, api_database_url=cluster.database()).database_url  # type: ignore[call-arg]
