"""A1111's "Model hash" of a checkpoint file: the first 10 hex digits of its SHA-256, computed once per file.

A1111 (modules/hashes.py: `calculate_sha256`, `calculate_shorthash`) hashes the whole file in 1 MiB blocks and
keeps the result in a cache; so do we: in memory, and in a small JSON file so a restart does not reread 6.9 GB.
A cache entry is keyed by the file's absolute path, size and mtime_ns, so a replaced file is hashed again.
Called when a model is loaded, never on a request's path.
"""

import contextlib
import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from worker.settings import REPO_ROOT

log = logging.getLogger(__name__)

# Next to the demo model's cache (models/.cache/demo-sdxl), where the worker already keeps what it rebuilds.
HASH_CACHE_FILE = REPO_ROOT / "models" / ".cache" / "hashes.json"
SHORT_HASH_LENGTH = 10
BLOCK_SIZE = 1024 * 1024

_Key = tuple[str, int, int]
_memory: dict[_Key, str] = {}
# Two loads hashing at once would each read the file; one lock keeps it to one read and one cache write.
_lock = threading.Lock()


def model_hash(path: Path, *, cache_file: Path = HASH_CACHE_FILE) -> str | None:
    """sha256[:10] of a single checkpoint file; None for a folder (diffusers layout, the demo model)."""
    # A1111 hashes checkpoint files only; a folder's files have no one hash that any A1111 tool would recognise.
    if path.is_dir():
        return None
    absolute = path.resolve()
    stat = absolute.stat()
    key: _Key = (str(absolute), stat.st_size, stat.st_mtime_ns)
    with _lock:
        digest = _memory.get(key) or _from_file(cache_file, key)
        if digest is None:
            digest = _sha256(absolute)
            _store(cache_file, key, digest)
        _memory[key] = digest
    return digest[:SHORT_HASH_LENGTH]


def clear_memory_cache() -> None:
    """Forget the in-memory hashes (the JSON cache stays): for tests, and after files are replaced in place."""
    with _lock:
        _memory.clear()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(BLOCK_SIZE):
            digest.update(block)
    log.info("hashed %s: sha256 %s", path, digest.hexdigest())
    return digest.hexdigest()


def _read(cache_file: Path) -> dict[str, dict[str, object]]:
    try:
        entries = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or damaged: hashing again is the cure
        return {}
    return entries if isinstance(entries, dict) else {}


def _from_file(cache_file: Path, key: _Key) -> str | None:
    path, size, mtime_ns = key
    entry = _read(cache_file).get(path)
    if not isinstance(entry, dict) or entry.get("size") != size or entry.get("mtime_ns") != mtime_ns:
        return None
    digest = entry.get("sha256")
    return digest if isinstance(digest, str) else None


def _store(cache_file: Path, key: _Key, digest: str) -> None:
    path, size, mtime_ns = key
    entries = _read(cache_file)
    entries[path] = {"size": size, "mtime_ns": mtime_ns, "sha256": digest}
    temporary = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(entries, indent=1, sort_keys=True), encoding="utf-8")
        # Renamed into place, so a reader (another worker starting) never sees half a file.
        temporary.replace(cache_file)
    except OSError as exc:  # a read-only models folder: the hash is still right, only the next start rehashes
        log.warning("could not write the model hash cache %s: %s", cache_file, exc)
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
