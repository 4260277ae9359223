"""POST /sdapi/v1/png-info: A1111's parameters read from PNG text chunks and JPEG/WebP EXIF, parsed as A1111 does."""

import base64
import io

import piexif  # type: ignore[import-untyped]
import piexif.helper  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin

from api.a1111.pnginfo import parse_generation_parameters

# The example of A1111's own parse_generation_parameters docstring, with a quoted value and our schedule type.
INFOTEXT = (
    "girl with an artist's beret, determined, blue eyes\n"
    "second line of the prompt\n"
    "Negative prompt: ugly, fat\n"
    "bad anatomy\n"
    "Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 965400086, Size: 512x768, "
    'Model hash: 45dee52b, Lora hashes: "ink: 0123456789ab, fox: ba9876543210", Version: img-generator 0.1.0'
)


def encoded(image: Image.Image, fmt: str, **options: object) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def exif_comment(text: str) -> bytes:
    # As A1111 (and worker/encode.py) write it.
    comment = piexif.helper.UserComment.dump(text, encoding="unicode")
    dumped: bytes = piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}})
    return dumped


def test_parse_splits_prompt_negative_prompt_and_parameters_as_a1111() -> None:
    parsed = parse_generation_parameters(INFOTEXT)
    assert parsed["Prompt"] == "girl with an artist's beret, determined, blue eyes\nsecond line of the prompt"
    assert parsed["Negative prompt"] == "ugly, fat\nbad anatomy"
    assert parsed["Steps"] == "20" and parsed["Sampler"] == "Euler a" and parsed["Seed"] == "965400086"
    assert (parsed["Size-1"], parsed["Size-2"]) == ("512", "768") and "Size" not in parsed
    assert parsed["Lora hashes"] == "ink: 0123456789ab, fox: ba9876543210"  # a JSON-quoted value, unquoted
    assert parsed["Schedule type"] == "Karras" and parsed["Version"] == "img-generator 0.1.0"
    # A1111's defaults for what the text leaves out.
    assert parsed["Clip skip"] == "1" and parsed["RNG"] == "GPU" and parsed["Hires resize-1"] == 0


def test_a_text_without_a_parameters_line_is_all_prompt() -> None:
    parsed = parse_generation_parameters("just a prompt, with: a colon")
    assert parsed["Prompt"] == "just a prompt, with: a colon" and parsed["Negative prompt"] == ""
    assert parsed["Schedule type"] == "Automatic"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_exif_user_comments_are_read(client: TestClient, fmt: str) -> None:
    image = encoded(Image.new("RGB", (64, 64)), fmt, exif=exif_comment(INFOTEXT))
    answer = client.post("/sdapi/v1/png-info", json={"image": image}).json()
    assert answer["info"] == INFOTEXT and answer["parameters"]["Seed"] == "965400086"
    assert "exif" not in answer["items"]


def test_a_png_text_chunk_is_read_and_other_chunks_are_items(client: TestClient) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", INFOTEXT)
    info.add_text("Software", "something else")
    image = encoded(Image.new("RGB", (64, 64)), "PNG", pnginfo=info, dpi=(72, 72))
    answer = client.post("/sdapi/v1/png-info", json={"image": "data:image/png;base64," + image}).json()
    assert answer["info"] == INFOTEXT
    assert answer["items"] == {"Software": "something else"}  # dpi is among A1111's ignored keys
    assert answer["parameters"]["Prompt"].startswith("girl with")


def test_an_image_without_parameters_answers_empty(client: TestClient) -> None:
    answer = client.post("/sdapi/v1/png-info", json={"image": encoded(Image.new("RGB", (8, 8)), "PNG")}).json()
    assert answer == {"info": "", "items": {}, "parameters": {}}


def test_bytes_that_are_no_image_answer_no_parameters(client: TestClient) -> None:
    # A1111 answers 500 here; no parameters is what such bytes hold.
    assert client.post("/sdapi/v1/png-info", json={"image": "AAAA"}).json() == {
        "info": "",
        "items": {},
        "parameters": {},
    }


def test_text_that_is_not_base64_is_a_422(client: TestClient) -> None:
    response = client.post("/sdapi/v1/png-info", json={"image": "not base64!"})
    assert response.status_code == 422
    assert response.json()["detail"] == "image must be base64 or a data: URL of a PNG, JPEG or WebP"
