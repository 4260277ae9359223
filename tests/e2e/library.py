"""A tiny model library for the end-to-end tests: scripts.tiny_models' folders, and single files."""

from pathlib import Path

from safetensors.torch import save_file

from scripts.tiny_models import tiny_variant
from tests.worker.ldm_export import pipeline_to_sgm
from tests.worker.test_single_file_load import tiny_sdxl_pipeline

__all__ = ["corrupt_copy", "tiny_sdxl_file", "tiny_variant"]


def tiny_sdxl_file(path: Path) -> Path:
    """A tiny SDXL-layout single file: it passes the SDXL key checks but not the bundled SDXL architecture."""
    save_file(pipeline_to_sgm(tiny_sdxl_pipeline()), str(path))
    return path


def corrupt_copy(source: Path, path: Path) -> Path:
    """The file's header intact and its tensor data cut short: listed, but it cannot be loaded."""
    data = source.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    path.write_bytes(data[: header_end + 64])
    return path
