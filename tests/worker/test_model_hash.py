"""A1111's "Model hash": sha256[:10] of the checkpoint file, computed once per file, kept across restarts."""

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker import model_hash as module
from worker.model_hash import clear_memory_cache, model_hash


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    clear_memory_cache()
    yield
    clear_memory_cache()


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    # Several 1 MiB blocks and a partial one, so the streaming read is exercised.
    path.write_bytes(os.urandom(3 * module.BLOCK_SIZE + 17))
    return path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files actually hashed (read through)."""
    seen: list[Path] = []
    real = module._sha256

    def spy(path: Path) -> str:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(module, "_sha256", spy)
    return seen


def sha10(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def test_the_hash_is_the_first_10_hex_of_the_files_sha256(checkpoint: Path, tmp_path: Path) -> None:
    assert model_hash(checkpoint, cache_file=tmp_path / "hashes.json") == sha10(checkpoint)


def test_a_second_call_reads_nothing(checkpoint: Path, tmp_path: Path, reads: list[Path]) -> None:
    cache = tmp_path / "hashes.json"
    first = model_hash(checkpoint, cache_file=cache)
    cache.unlink()  # the second answer must come from memory, not from the file
    assert model_hash(checkpoint, cache_file=cache) == first
    assert reads == [checkpoint.resolve()]


def test_a_restart_uses_the_json_cache(checkpoint: Path, tmp_path: Path, reads: list[Path]) -> None:
    cache = tmp_path / ".cache" / "hashes.json"
    first = model_hash(checkpoint, cache_file=cache)
    stat = checkpoint.stat()
    entry = json.loads(cache.read_text())[str(checkpoint.resolve())]
    assert entry == {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
    }
    clear_memory_cache()  # as a new process starts
    assert model_hash(checkpoint, cache_file=cache) == first
    assert len(reads) == 1


def test_a_changed_file_is_hashed_again(checkpoint: Path, tmp_path: Path, reads: list[Path]) -> None:
    cache = tmp_path / "hashes.json"
    model_hash(checkpoint, cache_file=cache)
    mtime_ns = checkpoint.stat().st_mtime_ns
    checkpoint.write_bytes(b"another model")
    os.utime(checkpoint, ns=(mtime_ns + 1_000_000, mtime_ns + 1_000_000))
    clear_memory_cache()
    assert model_hash(checkpoint, cache_file=cache) == sha10(checkpoint)
    assert len(reads) == 2


def test_a_relative_path_is_the_same_file(
    checkpoint: Path, tmp_path: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "hashes.json"
    model_hash(checkpoint, cache_file=cache)
    monkeypatch.chdir(checkpoint.parent)
    assert model_hash(Path(checkpoint.name), cache_file=cache) == sha10(checkpoint)
    assert len(reads) == 1


def test_a_folder_has_no_hash(tmp_path: Path) -> None:
    folder = tmp_path / "sdxl-base"
    (folder / "unet").mkdir(parents=True)
    cache = tmp_path / "hashes.json"
    assert model_hash(folder, cache_file=cache) is None
    assert not cache.exists()


def test_a_damaged_cache_is_rebuilt(checkpoint: Path, tmp_path: Path) -> None:
    cache = tmp_path / "hashes.json"
    cache.write_text("{not json")
    assert model_hash(checkpoint, cache_file=cache) == sha10(checkpoint)
    assert str(checkpoint.resolve()) in json.loads(cache.read_text())


def test_an_unwritable_cache_still_gives_the_hash(checkpoint: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache = blocker / "hashes.json"  # its folder cannot be made: a file is in the way
    assert model_hash(checkpoint, cache_file=cache) == sha10(checkpoint)
    assert set(tmp_path.iterdir()) == {blocker, checkpoint}  # no temporary file left behind
