"""The A1111 infotext: A1111's layout, quoting and number format, line for line."""

import json
import re
from dataclasses import replace
from importlib import metadata

import pytest

from worker.infotext import format_number, infotext, model_name_for_infotext, quote, service_version
from worker.params import GenerationParams

PARAMS = GenerationParams(
    prompt="a lighthouse at dusk",
    negative_prompt="",
    width=1024,
    height=1024,
    steps=30,
    guidance_scale=7.0,
    seed=42,
    sampler="Euler a",
    schedule_type="Automatic",
)
MODEL = {"model_name": "sd_xl_base_1.0.safetensors", "model_hash": "31e35c80fc", "version": "0.1.0"}
EULER_A = "Steps: 30, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 42"
TAIL = "Size: 1024x1024, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: img-generator 0.1.0"
# The grammar A1111's parser reads the last line with: `Key: value` pairs, a value either a JSON string or up to `,`.
PAIR = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


@pytest.mark.parametrize(
    ("changes", "model", "expected"),
    [
        pytest.param(
            {},
            {},
            f"a lighthouse at dusk\n{EULER_A}, {TAIL}",
            id="no-negative",
        ),
        pytest.param(
            {"negative_prompt": "blurry, low quality"},
            {},
            f"a lighthouse at dusk\nNegative prompt: blurry, low quality\n{EULER_A}, {TAIL}",
            id="with-negative",
        ),
        pytest.param(
            {"guidance_scale": 6.5, "sampler": "DPM++ 2M", "schedule_type": "Karras", "width": 832, "seed": 7},
            {},
            "a lighthouse at dusk\nSteps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 7, "
            + TAIL.replace("1024x1024", "832x1024"),
            id="cfg-6.5-karras",
        ),
        pytest.param(
            {},
            {"model_hash": None, "model_name": "sdxl-base"},
            "a lighthouse at dusk\nSteps: 30, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 42, "
            "Size: 1024x1024, Model: sdxl-base, Version: img-generator 0.1.0",
            id="no-model-hash",
        ),
        pytest.param(
            {"sampler": None},
            {},
            f"a lighthouse at dusk\nSteps: 30, Schedule type: Automatic, CFG scale: 7, Seed: 42, {TAIL}",
            id="sampler-unnamed-is-left-out",
        ),
        pytest.param(
            {"prompt": "\n  a lighthouse,\nat dusk: oil", "negative_prompt": "blurry\nnoise"},
            {"model_name": "my, model: v2.safetensors"},
            "a lighthouse,\nat dusk: oil\nNegative prompt: blurry\nnoise\n"
            "Steps: 30, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 42, Size: 1024x1024, "
            'Model hash: 31e35c80fc, Model: "my, model: v2", Version: img-generator 0.1.0',
            id="prompts-as-written-values-quoted",
        ),
    ],
)
def test_layout(changes: dict[str, object], model: dict[str, object], expected: str) -> None:
    assert infotext(replace(PARAMS, **changes), **{**MODEL, **model}) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain words", "plain words"),
        ("a, b", '"a, b"'),
        ("a: b", '"a: b"'),
        ("a\nb", '"a\\nb"'),
        ('say "hi", then', '"say \\"hi\\", then"'),
        ("phare, crépuscule", '"phare, crépuscule"'),  # non-ASCII kept as it is, as A1111 (ensure_ascii=False)
        (42, "42"),
    ],
)
def test_quote_is_a1111s(value: object, expected: str) -> None:
    assert quote(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(7, "7"), (7.0, "7"), (6.5, "6.5"), (0.0, "0"), (1.25, "1.25"), (30.0, "30")]
)
def test_cfg_scale_is_written_as_a1111s_ui_writes_it(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("sampler", "schedule", "written"),
    [
        ("Euler a", "Automatic", "Automatic"),  # no schedule of its own: A1111 keeps "Automatic"
        ("DPM++ 2M", "Automatic", "Karras"),  # A1111 records the schedule "Automatic" resolved to
        ("DPM++ 2M SDE", "Automatic", "Exponential"),
        ("Euler", "Karras", "Karras"),
        ("DDIM", "Uniform", "Uniform"),
    ],
)
def test_schedule_type_is_what_a1111_records(sampler: str, schedule: str, written: str) -> None:
    text = infotext(replace(PARAMS, sampler=sampler, schedule_type=schedule), **MODEL)
    assert f"Sampler: {sampler}, Schedule type: {written}, " in text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sd_xl_base_1.0.safetensors", "sd_xl_base_1.0"),
        ("juggernautXL.ckpt", "juggernautXL"),
        ("stable-diffusion-xl-base-1.0", "stable-diffusion-xl-base-1.0"),  # a folder: no extension to drop
        ("sdxl-demo", "sdxl-demo"),
    ],
)
def test_model_name_drops_only_a_checkpoint_extension(name: str, expected: str) -> None:
    assert model_name_for_infotext(name) == expected


def test_last_line_reads_back_with_a1111s_grammar() -> None:
    params = replace(PARAMS, prompt="a, b\nc", negative_prompt="d: e")
    text = infotext(params, **{**MODEL, "model_name": 'odd, "name":\nhere.safetensors'})
    *_, last = text.split("\n")
    pairs = {key: json.loads(value) if value.startswith('"') else value for key, value in PAIR.findall(last)}
    assert pairs["Model"] == 'odd, "name":\nhere'
    assert (pairs["Steps"], pairs["CFG scale"], pairs["Seed"], pairs["Size"]) == ("30", "7", "42", "1024x1024")
    assert pairs["Version"] == "img-generator 0.1.0"


def test_service_version_is_the_installed_package_version() -> None:
    assert service_version() == metadata.version("img-generator")
