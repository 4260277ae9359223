"""Encodes pixels as PNG; runs on the gRPC handler's thread, never on the engine thread."""

import io

from PIL import Image

from worker.text_to_image import Pixels

PNG_MIME_TYPE = "image/png"


def encode_png(pixels: Pixels, compress_level: int) -> bytes:
    """Lossless PNG of HxWx3 uint8 pixels; level 1 is several times faster than Pillow's default 6."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


PREVIEW_MIME_TYPE = "image/jpeg"


def encode_preview(pixels: Pixels) -> bytes:
    """A small JPEG for a progress preview: a few KB, lossy is fine for a thumbnail."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="JPEG", quality=75)
    return buffer.getvalue()
