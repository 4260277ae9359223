"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, one data folder, a free port.

pytest-postgresql and testing.postgresql start the server as the current user, and PostgreSQL refuses to run as
root (as CI and these machines do); so this starts it as the `postgres` user Debian's package creates.
"""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from scripts.devstack import free_port

USER = "gallery"


def server_binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin; None if absent."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


class Cluster:
    """A running server on 127.0.0.1:port; `database()` makes a fresh empty database and answers its URL."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._made = 0

    def database(self) -> str:
        """A new database of its own, so each test's gallery starts empty."""
        self._made += 1
        name = f"gallery_{self._made}"
        with psycopg.connect(f"postgresql://{USER}@127.0.0.1:{self.port}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    """initdb, start, yield, stop: the whole cluster lives in a temporary folder."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL's server is not installed: `make postgresql` (Debian's postgresql package)")
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    data, log = folder / "data", folder / "server.log"
    port = free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, cwd=folder)

    run(str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"PostgreSQL did not start: {log.read_text() if log.exists() else error}") from error
    try:
        yield Cluster(port)
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
