"""The gallery's files: content-addressed images and their thumbnails under API_DATA_DIR, written crash-safe."""

import hashlib
import io
import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from PIL import Image

log = logging.getLogger(__name__)

THUMBNAIL_SIDE: Final = 256
THUMBNAIL_QUALITY: Final = 80
# A file younger than this is never swept: another gateway sharing API_DATA_DIR may have written it and not yet
# committed its row (docs/architecture.md, section "Files before rows").
SWEEP_GRACE_SECONDS: Final = 600.0
_TEMPORARY: Final = ".tmp-"


def digest(data: bytes) -> str:
    """The content address of an image: its SHA-256, hex."""
    return hashlib.sha256(data).hexdigest()


class FileStore:
    """images/<ab>/<sha256>.<ext> and thumbnails/<ab>/<sha256>.webp; a name is its content, so a rewrite is harmless."""

    def __init__(self, root: Path) -> None:
        self.images = root / "images"
        self.thumbnails = root / "thumbnails"
        for folder in (self.images, self.thumbnails):
            folder.mkdir(parents=True, exist_ok=True)

    def image_path(self, sha256: str, extension: str) -> Path:
        """Where the image with this content lives."""
        return self.images / sha256[:2] / f"{sha256}.{extension}"

    def thumbnail_path(self, sha256: str) -> Path:
        """Where its thumbnail lives."""
        return self.thumbnails / sha256[:2] / f"{sha256}.webp"

    def write_image(self, sha256: str, extension: str, data: bytes) -> Path:
        """The image on disk, durable, before any row names it: temporary name, fsync, rename, fsync the folder."""
        path = self.image_path(sha256, extension)
        if not path.exists():  # the same content is already there, complete (it got there by a rename)
            _write_durably(path, data)
        return path

    def thumbnail(self, sha256: str, extension: str) -> bytes:
        """The 256-pixel WebP of an image, made (and kept) on first use; a lost thumbnail is made again."""
        path = self.thumbnail_path(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        with Image.open(self.image_path(sha256, extension)) as image:
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            out = io.BytesIO()
            image.convert("RGB").save(out, "WEBP", quality=THUMBNAIL_QUALITY)
        data = out.getvalue()
        _write_durably(path, data)
        return data

    def remove(self, sha256: str, extension: str) -> None:
        """The image's file and thumbnail gone (called once no row names the content)."""
        self.image_path(sha256, extension).unlink(missing_ok=True)
        self.thumbnail_path(sha256).unlink(missing_ok=True)

    def sweep(self, kept: set[str], grace_seconds: float = SWEEP_GRACE_SECONDS) -> int:
        """Remove files no row names (and temporaries a crash left), older than the grace; how many went."""
        cutoff = time.time() - grace_seconds
        removed = 0
        for path in self._files():
            sha256 = path.name.split(".", 1)[0]
            if sha256 in kept and not path.name.startswith(_TEMPORARY):
                continue
            try:
                if path.stat().st_mtime > cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
        if removed:
            log.info("gallery: swept %d file(s) that no row names", removed)
        return removed

    def _files(self) -> Iterator[Path]:
        for folder in (self.images, self.thumbnails):
            yield from (p for p in folder.glob("*/*") if p.is_file())


def _write_durably(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash at any moment leaves either no file or the whole one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{_TEMPORARY}{secrets.token_hex(8)}-{path.name}")
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    # The rename itself is durable only once the folder's entry is on disk.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
