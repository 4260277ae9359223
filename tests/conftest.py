"""Fixtures every test folder may use: the one throwaway PostgreSQL cluster of the session."""

from collections.abc import Iterator

import pytest

from tests.postgres import Cluster, running_cluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A real PostgreSQL server for the session (Debian's binaries, `make postgresql`); each test makes its database."""
    with running_cluster() as cluster:
        yield cluster
