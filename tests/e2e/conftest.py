"""The shared stack for end-to-end tests: one real worker on the demo model and one real api in front of it."""

from collections.abc import Iterator

import httpx
import pytest

from scripts.devstack import Service, free_port, start_api, start_worker


@pytest.fixture(scope="session")
def worker() -> Iterator[Service]:
    """`python -m worker` with no weights configured: the demo model."""
    service = start_worker("shared", WORKER_METRICS_PORT=str(free_port()), WORKER_METRICS_HOST="127.0.0.1")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def api(worker: Service) -> Iterator[Service]:
    """`python -m api` in front of the shared worker."""
    service = start_api("shared", worker.port)
    yield service
    service.stop()


@pytest.fixture
def http(api: Service) -> Iterator[httpx.Client]:
    """An HTTP client for the shared api, as curl would talk to it."""
    with httpx.Client(base_url=f"http://127.0.0.1:{api.port}", timeout=120) as client:
        yield client
