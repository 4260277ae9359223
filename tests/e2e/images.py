"""Reading the PNG answers of the end-to-end tests."""

import io

import numpy as np
import numpy.typing as npt
from PIL import Image


def png_pixels(body: bytes) -> npt.NDArray[np.uint8]:
    """Decode PNG bytes (and check they are a PNG) into HxWx3 uint8 pixels."""
    image = Image.open(io.BytesIO(body))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))
