"""Image to image inputs: decode and check the init image and the mask, size them, and paste the original back.

Runs on the gRPC handler's thread (worker/params.py), so no bad image reaches the engine thread.
"""

import io
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from genproto import limits
from PIL import Image, ImageFilter, ImageOps

from worker.errors import InvalidRequest

Pixels = npt.NDArray[np.uint8]
_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
# Pillow's decompression-bomb guard, at the output limit's area: a 2048x2048 image is the largest we take.
Image.MAX_IMAGE_PIXELS = limits.MAX_SIDE * limits.MAX_SIDE


@dataclass(frozen=True)
class Prepared:
    """The init image at the output size, and the blurred mask (0 keeps, 255 repaints) when there is one."""

    image: Pixels
    mask: Pixels | None


def decode(data: bytes, field: str) -> Image.Image:
    """An uploaded PNG, JPEG or WebP as a Pillow image, or InvalidRequest naming the field and what is wrong."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidRequest(f"{field} is too large to decode (over {Image.MAX_IMAGE_PIXELS} pixels)") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidRequest(f"{field} is not a PNG, JPEG or WebP image ({error})") from None
    if image.format not in _FORMATS:
        raise InvalidRequest(f"{field} must be a PNG, JPEG or WebP image (got {image.format})")
    frames = int(getattr(image, "n_frames", 1))
    if frames > 1:
        raise InvalidRequest(f"{field} must be a still image (got {frames} frames)")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        raise InvalidRequest(f"{field} must be 8 bits per channel (got mode {image.mode})")
    width, height = image.size
    if width > limits.MAX_SIDE or height > limits.MAX_SIDE:
        raise InvalidRequest(f"{field} must be at most {limits.MAX_SIDE} pixels a side (got {width}x{height})")
    return image


def output_size(image: Image.Image, width: int | None, height: int | None) -> tuple[int, int]:
    """The answer's size: the init image's rounded down to a multiple of 8, unless width/height are given."""
    w = width if width is not None else image.width - image.width % limits.SIDE_STEP
    h = height if height is not None else image.height - image.height % limits.SIDE_STEP
    for field, side in (("width", w), ("height", h)):
        if side < limits.MIN_SIDE:
            raise InvalidRequest(f"{field} from initImage must be at least {limits.MIN_SIDE} (got {side})")
    return w, h


def _resize(image: Image.Image, size: tuple[int, int], mode: str, resample: Image.Resampling) -> Image.Image:
    """A1111's resize modes: stretch, crop to fill, or fit and pad with the edge's colours."""
    if mode == "crop and resize":
        return ImageOps.fit(image, size, method=resample)
    if mode == "resize and fill":
        fitted = ImageOps.contain(image, size, method=resample)
        canvas = fitted.resize(size, resample)  # the stretched image fills the bands, as A1111's fill does
        canvas.paste(fitted, ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
        return canvas
    return image.resize(size, resample)


def prepare(
    init: Image.Image, mask: Image.Image | None, size: tuple[int, int], resize_mode: str, blur: int
) -> Prepared:
    """The init image as HxWx3 uint8 at `size`; the mask (its alpha when the image has one and no mask came)."""
    if mask is None and (init.mode in ("RGBA", "LA", "PA") or "transparency" in init.info):
        alpha = init.convert("RGBA").getchannel("A")
        # Transparent pixels are the ones to paint: the alpha, inverted, is the mask; an opaque alpha is none.
        lowest, _ = alpha.getextrema()
        if isinstance(lowest, int) and lowest < 255:
            mask = ImageOps.invert(alpha)
    if mask is not None and mask.size != init.size:
        raise InvalidRequest(
            f"mask must be initImage's size {init.width}x{init.height} (got {mask.width}x{mask.height})"
        )
    image = _resize(init.convert("RGB"), size, resize_mode, Image.Resampling.LANCZOS)
    if mask is None:
        return Prepared(np.asarray(image, dtype=np.uint8).copy(), None)
    grey = _resize(mask.convert("L"), size, resize_mode, Image.Resampling.BILINEAR)
    if blur > 0:
        grey = grey.filter(ImageFilter.GaussianBlur(blur))
    return Prepared(np.asarray(image, dtype=np.uint8).copy(), np.asarray(grey, dtype=np.uint8).copy())


def paste_back(original: Pixels, generated: Pixels, mask: Pixels) -> Pixels:
    """The generated pixels where the mask paints, blended at its edge, and the original exactly where it keeps."""
    alpha = mask.astype(np.float32)[..., None] / 255.0
    blended = np.round(original * (1.0 - alpha) + generated * alpha).astype(np.uint8)
    # Where the blurred mask is 0 the answer is the input, bit for bit: no VAE round trip shows there.
    return np.where(mask[..., None] == 0, original, blended)


def latent_noise(image: Pixels, mask: Pixels, seed: int) -> Pixels:
    """A1111's "latent noise" fill, in pixels: the area to repaint starts as noise drawn from the seed."""
    noise = np.random.default_rng(seed).integers(0, 256, size=image.shape, dtype=np.uint8)
    return np.where(mask[..., None] > 0, noise, image)
