"""POST /sdapi/v1/png-info: the A1111 parameters inside an image (PNG text, JPEG/WebP EXIF), parsed as A1111 does."""

import base64
import binascii
import io
import json
import logging
import re
from typing import Any, Final

from PIL import Image, UnidentifiedImageError

from api.a1111.protocol import PngInfoResponse

log = logging.getLogger(__name__)

# A1111's modules/images.py IGNORED_INFO_KEYS: image properties, not text the user wrote.
IGNORED_INFO_KEYS: Final = frozenset(
    {
        "jfif",
        "jfif_version",
        "jfif_unit",
        "jfif_density",
        "dpi",
        "exif",
        "loop",
        "background",
        "timestamp",
        "duration",
        "progressive",
        "progression",
        "icc_profile",
        "chromaticity",
        "photoshop",
    }
)
EXIF_IFD: Final = 0x8769
USER_COMMENT: Final = 0x9286
# EXIF UserComment's 8-byte character code → its encoding (piexif.helper.UserComment, which A1111 writes with).
_COMMENT_ENCODINGS: Final = {b"UNICODE\0": "utf_16_be", b"ASCII\0\0\0": "ascii", b"JIS\0\0\0\0\0": "shift_jis"}

# A1111's modules/infotext_utils.py: one `key: value` of the last line (a value may be a JSON string).
RE_PARAM: Final = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
RE_IMAGESIZE: Final = re.compile(r"^(\d+)x(\d+)$")
# What parse_generation_parameters fills in when an infotext leaves a key out (A1111's defaults).
MISSING_DEFAULTS: Final[dict[str, Any]] = {
    "Clip skip": "1",
    "Hires resize-1": 0,
    "Hires resize-2": 0,
    "Hires sampler": "Use same sampler",
    "Hires schedule type": "Use same scheduler",
    "Hires checkpoint": "Use same checkpoint",
    "Hires prompt": "",
    "Hires negative prompt": "",
    "Mask mode": "Inpaint masked",
    "Masked content": "original",
    "Inpaint area": "Whole picture",
    "Masked area padding": 32,
    "RNG": "GPU",
    "Schedule type": "Automatic",
    "Schedule max sigma": 0,
    "Schedule min sigma": 0,
    "Schedule rho": 0,
    "VAE Encoder": "Full",
    "VAE Decoder": "Full",
    "FP8 weight": "Disable",
    "Refiner switch by sampling steps": False,
}


def decode_image(text: str) -> bytes | None:
    """The bytes of a base64 image (a data: URL's prefix allowed), None when it is not base64."""
    data = text.strip()
    data = data.split(",", 1)[1] if data.startswith("data:") and "," in data else data
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def _user_comment(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    encoding = _COMMENT_ENCODINGS.get(raw[:8])
    # A1111 falls back to UTF-8 for a comment without a known character code.
    return raw[8:].decode(encoding) if encoding else raw.decode("utf8", errors="ignore")


def read_info(data: bytes) -> tuple[str | None, dict[str, Any]]:
    """A1111's read_info_from_image: the infotext and the other text items; (None, {}) for no readable image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            items: dict[str, Any] = {str(key): value for key, value in image.info.items()}
            comment = image.getexif().get_ifd(EXIF_IFD).get(USER_COMMENT)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        log.info("png-info: not an image Pillow reads (%s); answered without parameters", error)
        return None, {}
    geninfo = items.pop("parameters", None)
    if comment is not None:
        geninfo = _user_comment(comment)
    for key in IGNORED_INFO_KEYS:
        items.pop(key, None)
    # JSON answers only: A1111's items are text chunks; anything else is shown as text.
    return geninfo, {k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in items.items()}


def _unquote(text: str) -> str:
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def parse_generation_parameters(text: str) -> dict[str, Any]:
    """A1111's parse_generation_parameters (without its styles and hypernetwork options): prompt, negative
    prompt, each `key: value`, sizes split into `-1`/`-2`, and its defaults for keys left out."""
    result: dict[str, Any] = {}
    prompt = negative = ""
    done_with_prompt = False
    *lines, last = text.strip().split("\n")
    if len(RE_PARAM.findall(last)) < 3:  # no parameters line: it is part of the prompt
        lines.append(last)
        last = ""
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done_with_prompt = True
            line = line[16:].strip()
        if done_with_prompt:
            negative += ("" if negative == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    for key, raw in RE_PARAM.findall(last):
        value = _unquote(raw) if raw[:1] == '"' and raw[-1:] == '"' else raw
        size = RE_IMAGESIZE.match(value)
        if size is not None:
            result[f"{key}-1"], result[f"{key}-2"] = size.group(1), size.group(2)
        else:
            result[key] = value
    result["Prompt"], result["Negative prompt"] = prompt, negative
    for key, default in MISSING_DEFAULTS.items():
        result.setdefault(key, default)
    return result


def png_info(data: bytes) -> PngInfoResponse:
    """POST /sdapi/v1/png-info's answer for an image's bytes."""
    geninfo, items = read_info(data)
    text = geninfo or ""
    return PngInfoResponse(info=text, items=items, parameters=parse_generation_parameters(text) if text else {})
