"""The infotext inside every image file, read back by an independent A1111 reader (sd-parsers); pixels untouched."""

import io
import struct
import zlib

import numpy as np
import pytest
from genproto.limits import ImageFormat
from PIL import Image
from sd_parsers import ParserManager
from sd_parsers.data import PromptInfo

from worker.encode import PNG_SIGNATURE, Encoder, PngEncoder, insert_png_chunk, png_text_chunk
from worker.infotext import infotext
from worker.params import GenerationParams

PIXELS = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
PARAMS = GenerationParams(
    prompt="a lighthouse at dusk, oil painting",
    negative_prompt="blurry, low quality",
    width=64,
    height=64,
    steps=25,
    guidance_scale=6.5,
    seed=1234,
    sampler="DPM++ 2M",
    schedule_type="Karras",
)
TEXT = infotext(PARAMS, model_name="sd_xl_base_1.0.safetensors", model_hash="31e35c80fc", version="0.1.0")
# Every way an answer is encoded: (Encoder, format).
ENCODINGS = [
    pytest.param(Encoder(png_encoder="fpng"), "png", id="png-fpng"),
    pytest.param(Encoder(png_encoder="pillow"), "png", id="png-pillow"),
    pytest.param(Encoder(), "jpeg", id="jpeg"),
    pytest.param(Encoder(), "webp", id="webp"),
]


def parse(data: bytes) -> PromptInfo | None:
    with Image.open(io.BytesIO(data)) as image:
        result: PromptInfo | None = ParserManager().parse(image)
        return result


def chunks(png: bytes) -> list[tuple[bytes, bytes, int]]:
    """(type, data, stored CRC) of each chunk, in order."""
    assert png.startswith(PNG_SIGNATURE)
    found, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        length, kind = struct.unpack_from(">I4s", png, offset)
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", png, offset + 8 + length)
        found.append((kind, data, crc))
        offset += 12 + length
    return found


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize(("encoder", "image_format"), ENCODINGS)
def test_an_a1111_reader_reads_every_parameter_back(encoder: Encoder, image_format: ImageFormat) -> None:
    info = parse(encoder.encode(PIXELS, image_format, TEXT))
    assert info is not None
    assert info.generator.name == "AUTOMATIC1111"
    assert [str(p) for p in info.prompts] == ["a lighthouse at dusk, oil painting"]
    assert [str(p) for p in info.negative_prompts] == ["blurry, low quality"]
    (sampler,) = info.samplers
    assert sampler.name == "DPM++ 2M"
    assert sampler.parameters == {"steps": "25", "cfg_scale": "6.5", "seed": "1234", "scheduler": "Karras"}
    assert sampler.model is not None
    assert (sampler.model.name, sampler.model.hash) == ("sd_xl_base_1.0", "31e35c80fc")
    assert info.metadata["Size"] == "64x64"
    assert info.metadata["Version"] == "img-generator 0.1.0"
    assert info.raw_parameters["parameters"] == TEXT


@pytest.mark.parametrize(("encoder", "image_format"), ENCODINGS)
def test_text_beyond_latin_1_comes_back_whole(encoder: Encoder, image_format: ImageFormat) -> None:
    text = TEXT.replace("a lighthouse", "灯台 ☀ 🌊 a lighthouse")
    info = parse(encoder.encode(PIXELS, image_format, text))
    assert info is not None
    assert info.raw_parameters["parameters"] == text


@pytest.mark.parametrize(("encoder", "image_format"), ENCODINGS)
def test_no_infotext_no_metadata(encoder: Encoder, image_format: ImageFormat) -> None:
    data = encoder.encode(PIXELS, image_format, None)
    assert data == encoder.encode(PIXELS, image_format)
    assert parse(data) is None
    with Image.open(io.BytesIO(data)) as image:
        assert "parameters" not in image.info
        assert not image.getexif()
    if image_format == "png":
        assert not {kind for kind, _, _ in chunks(data)} & {b"tEXt", b"iTXt", b"zTXt"}


@pytest.mark.parametrize("png_encoder", ["fpng", "pillow"])
def test_png_pixels_are_the_input_exactly(png_encoder: PngEncoder) -> None:
    data = Encoder(png_encoder=png_encoder).encode(PIXELS, "png", TEXT)
    np.testing.assert_array_equal(decoded(data), PIXELS)


@pytest.mark.parametrize(("encoder", "image_format"), ENCODINGS[2:])
def test_lossy_pixels_are_the_same_with_or_without_metadata(encoder: Encoder, image_format: ImageFormat) -> None:
    with_text, without = encoder.encode(PIXELS, image_format, TEXT), encoder.encode(PIXELS, image_format)
    np.testing.assert_array_equal(decoded(with_text), decoded(without))


def test_fpng_bytes_gain_one_valid_text_chunk_before_idat_and_nothing_else_changes() -> None:
    plain = Encoder(png_encoder="fpng").encode(PIXELS, "png")
    tagged = Encoder(png_encoder="fpng").encode(PIXELS, "png", TEXT)
    found = chunks(tagged)
    kinds = [kind for kind, _, _ in found]
    assert kinds.index(b"tEXt") < kinds.index(b"IDAT")
    assert all(zlib.crc32(kind + data) == crc for kind, data, crc in found)
    assert [c for c in found if c[0] != b"tEXt"] == chunks(plain)
    assert found[kinds.index(b"tEXt")][1] == b"parameters\0" + TEXT.encode("latin-1")


def test_text_chunks_are_what_pillows_add_text_writes() -> None:
    assert png_text_chunk("parameters", "café") == (b"tEXt", b"parameters\0caf\xe9")
    assert png_text_chunk("parameters", "灯台") == (b"iTXt", b"parameters\0\0\0\0\0" + "灯台".encode())


def test_a_chunk_goes_before_iend_when_there_is_no_idat() -> None:
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    png = insert_png_chunk(PNG_SIGNATURE + iend, b"tEXt", b"k\0v")
    assert [kind for kind, _, _ in chunks(png)] == [b"tEXt", b"IEND"]
    with pytest.raises(ValueError, match="not a PNG"):
        insert_png_chunk(PNG_SIGNATURE, b"tEXt", b"k\0v")
