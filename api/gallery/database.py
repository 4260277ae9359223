"""The gallery's database: an engine for SQLite (WAL) or PostgreSQL, migrated to the newest schema at start."""

from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text

MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"
# Any fixed number: gateways starting together on one PostgreSQL take turns migrating.
_MIGRATION_LOCK: Final = 0x1A6E_6E12


def open_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL (readers never block the writer) and waits on a busy file."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL: a kill -9 never tears the database (the WAL is replayed or ignored whole); synchronous=NORMAL keeps
    # every committed transaction across a process crash, and costs no fsync per commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic), one gateway at a time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Held until this transaction ends: a second gateway waits, then finds nothing left to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
