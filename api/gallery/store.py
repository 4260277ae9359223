"""The gallery's store: rows in SQLite or PostgreSQL, files by content, every write putting the file first.

docs/architecture.md, section "Files before rows", says why the order matters.
"""

import base64
import binascii
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from genproto.limits import EXTENSIONS, ImageFormat
from sqlalchemy import CursorResult, Engine, and_, delete, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.gallery.database import migrate, open_engine
from api.gallery.files import FileStore, digest
from api.gallery.tables import ImageRow

log = logging.getLogger(__name__)

# Threads of one gateway that write or delete the same content take turns on one of these stripes.
_STRIPES: Final = 64
_RETENTION_BATCH: Final = 100
# Any fixed number, apart from the contents' keys (those are 60-bit hashes): the lock of a retention pass.
_RETENTION_KEY: Final = -1


class BadCursor(ValueError):
    """A cursor this gallery did not hand out."""


@dataclass(frozen=True)
class NewImage:
    """An answered image to keep: its bytes, whose it is, and the row's values (ImageRow's column names)."""

    owner: str
    data: bytes
    format: ImageFormat
    values: dict[str, Any]


@dataclass(frozen=True)
class Page:
    """One page of a listing, newest first, and the cursor of the next (None: this was the last)."""

    rows: list[ImageRow]
    next: str | None


class Gallery:
    """Keeps, lists, stars and deletes images; ownership is checked in every query (another's id is not found)."""

    def __init__(self, engine: Engine, files: FileStore, max_images: int = 0, max_bytes: int = 0) -> None:
        self.engine = engine
        self.files = files
        self.max_images = max_images
        self.max_bytes = max_bytes
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._retention_lock = threading.Lock()
        # Thumbnails and retention run here, after the answer went out, so they never slow it.
        self._upkeep = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gallery-upkeep")

    @classmethod
    def open(cls, url: str, data_dir: Path, max_images: int = 0, max_bytes: int = 0) -> "Gallery":
        """Migrate the database, then sweep files no row names (a crash between a file and its row leaves one)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        engine = open_engine(url)
        migrate(engine)
        gallery = cls(engine, FileStore(data_dir), max_images, max_bytes)
        gallery.sweep()
        gallery.enforce_retention()
        return gallery

    def close(self) -> None:
        """Finish the upkeep in flight and let the database go."""
        self._upkeep.shutdown(wait=True)
        self.engine.dispose()

    def settle(self) -> None:
        """Wait until the upkeep of every save so far (thumbnails, retention) is done."""
        self._upkeep.submit(lambda: None).result()

    def save(self, image: NewImage) -> str:
        """Keep an image: its file durable on disk first, then its row; answers the new id."""
        sha256 = digest(image.data)
        extension = EXTENSIONS[image.format]
        row = ImageRow(
            id=secrets.token_urlsafe(16),  # 128 random bits: ids are not guessable, not sequential
            owner=image.owner,
            created_us=time.time_ns() // 1000,
            sha256=sha256,
            bytes=len(image.data),
            format=image.format,
            starred=False,
            **image.values,
        )
        with self._content(sha256) as session:
            self.files.write_image(sha256, extension, image.data)
            session.add(row)
            session.commit()
        self._upkeep.submit(self._after_save, sha256, extension)
        return row.id

    def get(self, owner: str, image_id: str) -> ImageRow | None:
        """The row, if it exists and is the owner's."""
        with self._sessions() as session:
            return session.scalars(select(ImageRow).where(ImageRow.id == image_id, ImageRow.owner == owner)).first()

    def page(self, owner: str, limit: int, cursor: str | None = None, q: str = "", starred: bool | None = None) -> Page:
        """The owner's images newest first, after `cursor`, whose prompts contain `q` (any case)."""
        query = select(ImageRow).where(ImageRow.owner == owner)
        if cursor:
            created_us, last_id = _read_cursor(cursor)
            query = query.where(
                or_(
                    ImageRow.created_us < created_us,
                    and_(ImageRow.created_us == created_us, ImageRow.id < last_id),
                )
            )
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(
                    ImageRow.positive_prompt.ilike(pattern, escape="\\"),
                    ImageRow.negative_prompt.ilike(pattern, escape="\\"),
                )
            )
        if starred is not None:
            query = query.where(ImageRow.starred == starred)
        query = query.order_by(ImageRow.created_us.desc(), ImageRow.id.desc()).limit(limit + 1)
        with self._sessions() as session:
            rows = list(session.scalars(query))
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, _write_cursor(rows[-1]) if more else None)

    def set_starred(self, owner: str, image_id: str, starred: bool) -> ImageRow | None:
        """Star or unstar (a starred image is never removed by retention); None if not the owner's."""
        with self._sessions() as session:
            row = session.scalars(select(ImageRow).where(ImageRow.id == image_id, ImageRow.owner == owner)).first()
            if row is None:
                return None
            row.starred = starred
            session.commit()
            return row

    def delete(self, owner: str, image_id: str) -> bool:
        """Remove the row, then its file once no other row names the content; False if not the owner's."""
        row = self.get(owner, image_id)
        if row is None:
            return False
        return self._remove(row)

    def file_path(self, row: ImageRow) -> Path:
        """Where a row's image is."""
        return self.files.image_path(row.sha256, EXTENSIONS[row.format])

    def thumbnail(self, row: ImageRow) -> bytes:
        """The row's 256-pixel WebP (made now if the upkeep has not made it yet)."""
        return self.files.thumbnail(row.sha256, EXTENSIONS[row.format])

    def sweep(self) -> int:
        """Remove files that no row names; how many went."""
        with self._sessions() as session:
            kept = set(session.scalars(select(ImageRow.sha256).distinct()))
        return self.files.sweep(kept)

    def enforce_retention(self) -> int:
        """Remove the oldest unstarred images while the gallery holds more than its limits; how many went."""
        if not self.max_images and not self.max_bytes:
            return 0
        # One pass at a time (in this gateway, and across gateways on one PostgreSQL): two passes that counted
        # the same excess would each remove it.
        with self._retention_lock, self.engine.connect() as connection:
            postgres = self.engine.dialect.name == "postgresql"
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _RETENTION_KEY})
                connection.commit()
            try:
                return self._retain()
            finally:
                if postgres:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _RETENTION_KEY})
                    connection.commit()

    def _retain(self) -> int:
        removed = 0
        while True:
            with self._sessions() as session:
                count, total = session.execute(select(func.count(), func.coalesce(func.sum(ImageRow.bytes), 0))).one()
                over_count = count - self.max_images if self.max_images else 0
                over_bytes = total - self.max_bytes if self.max_bytes else 0
                if over_count <= 0 and over_bytes <= 0:
                    return removed
                oldest = list(
                    session.scalars(
                        select(ImageRow)
                        .where(ImageRow.starred.is_(False))
                        .order_by(ImageRow.created_us, ImageRow.id)
                        .limit(_RETENTION_BATCH)
                    )
                )
            if not oldest:
                log.warning("gallery: over its limits with only starred images left; nothing removed")
                return removed
            for row in oldest:
                if over_count <= 0 and over_bytes <= 0:
                    break
                if self._remove(row):
                    removed += 1
                over_count -= 1
                over_bytes -= row.bytes

    def _after_save(self, sha256: str, extension: str) -> None:
        try:
            self.files.thumbnail(sha256, extension)
            self.enforce_retention()
        except Exception:  # upkeep is redone on demand (thumbnails) or at the next save (retention)
            log.exception("gallery upkeep failed")

    def _remove(self, row: ImageRow) -> bool:
        with self._content(row.sha256) as session:
            deleted: CursorResult[Any] = session.execute(delete(ImageRow).where(ImageRow.id == row.id))  # type: ignore[assignment]
            gone = deleted.rowcount > 0
            session.commit()
            still_named = session.scalars(select(ImageRow.id).where(ImageRow.sha256 == row.sha256).limit(1)).first()
            if still_named is None:
                # After the commit: a crash here leaves an orphan file for the sweep, never a row without its file.
                self.files.remove(row.sha256, EXTENSIONS[row.format])
            return gone

    @contextmanager
    def _content(self, sha256: str) -> Iterator[Session]:
        """A session holding the content's lock: a write and a delete of the same file never interleave.

        Within one gateway a thread lock; across gateways on one PostgreSQL, a session-level advisory lock on
        the content, held on this one connection past the commit until the file is written or removed.
        """
        key = int(sha256[:15], 16)
        postgres = self.engine.dialect.name == "postgresql"
        with self._stripes[key % _STRIPES], self.engine.connect() as connection:
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                connection.commit()
            try:
                with Session(bind=connection, expire_on_commit=False) as session:
                    yield session
            finally:
                if postgres:
                    connection.rollback()
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()


def _write_cursor(row: ImageRow) -> str:
    return base64.urlsafe_b64encode(f"{row.created_us}.{row.id}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, image_id = raw.partition(".")
        return int(created), image_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor(cursor) from None
