"""Property tests of the request model: any JSON object is within every limit, or a 422 that names the field."""

import math
from typing import Any

from fastapi.testclient import TestClient
from genproto import samplers
from genproto.limits import (
    MAX_COUNT,
    MAX_GUIDANCE,
    MAX_LORA_WEIGHT,
    MAX_LORAS,
    MAX_NAME_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MIN_LORA_WEIGHT,
    MIN_SIDE,
    SIDE_STEP,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.app import create_app
from api.native.protocol import GenerateImageRequest, GenerateOneImageRequest
from tests.api.fakes import settings_for, start_fake_worker

FIELDS = [field.alias or name for name, field in GenerateImageRequest.model_fields.items()]
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# JSON scalars and small containers of any type: what a client bug might send for any field.
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
any_json = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


def around(low: int, high: int) -> st.SearchStrategy[int]:
    """Integers in the range, at its edges and just past them."""
    return st.integers(low, high) | st.sampled_from([low - 1, low, high, high + 1, -1, 0, 2**63])


def prompts(max_chars: int) -> st.SearchStrategy[str]:
    return st.text(max_size=12) | st.sampled_from(["   ", "a" * max_chars, "a" * (max_chars + 1), " a "])


# For each field: values within its limits, the edges included.
VALID: dict[str, st.SearchStrategy[Any]] = {
    "positivePrompt": st.text(min_size=1, max_size=12).filter(str.strip) | st.just("a" * MAX_PROMPT_CHARS),
    "negativePrompt": st.text(max_size=12) | st.none() | st.just("b" * MAX_PROMPT_CHARS),
    "width": st.integers(MIN_SIDE // SIDE_STEP, MAX_SIDE // SIDE_STEP).map(lambda n: n * SIDE_STEP),
    "height": st.sampled_from([MIN_SIDE, 512, MAX_SIDE]),
    "steps": st.integers(1, MAX_STEPS),
    "guidanceScale": st.floats(0, MAX_GUIDANCE) | st.integers(0, int(MAX_GUIDANCE)),
    # Room for count's seeds seed..seed+count-1 below MAX_SEED.
    "seed": st.integers(0, MAX_SEED - MAX_COUNT),
    "format": st.sampled_from(["png", "jpeg", "webp"]),
    "sampler": st.sampled_from([*samplers.NAMES, "dpm++ 2m karras", "k_euler_a"]),
    # The schedules every sampler takes; the others depend on the sampler (tests/api/test_api_validation.py).
    "scheduleType": st.sampled_from([*samplers.SPACING_SCHEDULES, "automatic"]),
    "count": st.integers(1, MAX_COUNT),
    # Any name: which ones exist is the worker's library (the fake worker serves every name).
    "model": st.text(min_size=1, max_size=20).filter(str.strip) | st.just("m" * MAX_NAME_CHARS),
    # Image to image: what the api checks itself (base64, ranges); whether the bytes are an image is the worker's.
    "initImage": st.sampled_from(["aGVsbG8=", "data:image/png;base64,aGk=", ""]),
    "denoisingStrength": st.floats(0.01, 1.0),
    "mask": st.sampled_from(["aGVsbG8="]),
    "maskBlur": st.integers(0, 64),
    "inpaintingFill": st.sampled_from(["original", "latent noise"]),
    "resizeMode": st.sampled_from(["just resize", "crop and resize", "resize and fill"]),
    "save": st.booleans(),
    "loras": st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["ink", "style/ink"])},
            optional={"weight": st.floats(MIN_LORA_WEIGHT, MAX_LORA_WEIGHT) | st.integers(-2, 2)},
        ),
        max_size=MAX_LORAS,
    ),
}
# And values near its limits, on both sides.
NEAR_LIMITS: dict[str, st.SearchStrategy[Any]] = {
    "positivePrompt": prompts(MAX_PROMPT_CHARS),
    "negativePrompt": prompts(MAX_PROMPT_CHARS),
    "width": around(MIN_SIDE, MAX_SIDE),
    "height": around(MIN_SIDE, MAX_SIDE).map(lambda n: n - n % SIDE_STEP),
    "steps": around(1, MAX_STEPS),
    "guidanceScale": st.floats(-1, MAX_GUIDANCE + 1, allow_nan=False) | around(0, int(MAX_GUIDANCE)),
    "seed": around(0, MAX_SEED),
    "format": st.sampled_from(["png", "jpeg", "webp", "gif", "PNG", ""]),
    "sampler": st.sampled_from(["Euler b", "", "DPM++", "euler"]),
    "scheduleType": st.sampled_from(["Karras", "Beta", "Polyexponential", ""]),
    "count": around(1, MAX_COUNT),
    "model": st.sampled_from(["", "m" * (MAX_NAME_CHARS + 1), "sub/name"]),
    "initImage": st.sampled_from(["not base64", "aGVsbG8", 5]),
    "denoisingStrength": st.sampled_from([0, -0.1, 1.0001, 1]),
    "mask": st.sampled_from(["%%%", None]),
    "maskBlur": st.sampled_from([-1, 65, 64, 0]),
    "inpaintingFill": st.sampled_from(["fill", "original"]),
    "resizeMode": st.sampled_from(["stretch", "just resize"]),
    "save": st.sampled_from(["false", 0, None]),
    "loras": st.sampled_from(
        [[{"name": "ink", "weight": MAX_LORA_WEIGHT + 0.5}], [{"name": ""}], [{"name": "a"}] * (MAX_LORAS + 1), []]
    ),
}


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object of valid fields, about half of them with one or two fields broken: a value near or past
    its limit, a value of any JSON type, a missing prompt, or a misspelt or unknown field."""
    body: dict[str, Any] = {
        name: draw(VALID[name]) for name in FIELDS if name == "positivePrompt" or draw(st.booleans())
    }
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(FIELDS))
        mutation = draw(st.sampled_from(["near", "near", "any", "drop", "unknown"]))
        if mutation == "near":
            body[name] = draw(NEAR_LIMITS[name])
        elif mutation == "any":
            body[name] = draw(any_json)
        elif mutation == "drop":
            body.pop(name, None)
        else:
            body[draw(st.sampled_from(["postivePrompt", "positive_prompt", "Width", "nsfw", ""]))] = draw(any_json)
    return body


def assert_within_every_limit(request: GenerateImageRequest) -> None:
    assert 1 <= len(request.positive_prompt) <= MAX_PROMPT_CHARS
    assert request.positive_prompt == request.positive_prompt.strip()
    assert len(request.negative_prompt) <= MAX_PROMPT_CHARS
    for side in (request.width, request.height):
        assert side is None or (type(side) is int and MIN_SIDE <= side <= MAX_SIDE and side % SIDE_STEP == 0)
    assert request.steps is None or (type(request.steps) is int and 1 <= request.steps <= MAX_STEPS)
    guidance = request.guidance_scale
    assert guidance is None or (math.isfinite(guidance) and 0 <= guidance <= MAX_GUIDANCE)
    assert request.seed is None or (type(request.seed) is int and 0 <= request.seed <= MAX_SEED)
    assert request.format in (None, "png", "jpeg", "webp")
    assert request.sampler is None or samplers.resolve(request.sampler) is not None
    assert request.schedule_type is None or samplers.resolve_schedule(request.schedule_type) is not None
    assert request.count in (None, 1)
    assert request.model is None or 1 <= len(request.model) <= MAX_NAME_CHARS
    assert request.loras is None or len(request.loras) <= MAX_LORAS
    assert all(MIN_LORA_WEIGHT <= lora.weight <= MAX_LORA_WEIGHT for lora in request.loras or [])


def failing_fields(body: dict[str, Any]) -> set[str] | None:
    """The JSON names of the fields the model refuses, or None when it accepts the body."""
    try:
        # POST /generateimage's model: the stream's, with one image.
        assert_within_every_limit(GenerateOneImageRequest.model_validate(body))
    except ValidationError as error:
        # As the message names them: an empty key as "".
        return {str(problem["loc"][0]) or '""' for problem in error.errors()}
    return None


@given(body=bodies())
@PROPERTY_SETTINGS
def test_the_model_accepts_only_values_within_every_limit(body: dict[str, Any]) -> None:
    failing = failing_fields(body)
    assert failing is None or failing  # a refusal always names at least one field


def test_any_json_object_is_served_or_refused_with_a_422_that_names_each_bad_field() -> None:
    worker = start_fake_worker()
    try:
        with TestClient(create_app(settings_for(worker.port))) as client:

            @given(body=bodies())
            @PROPERTY_SETTINGS
            def check(body: dict[str, Any]) -> None:
                response = client.post("/generateimage", json=body)
                failing = failing_fields(body)
                if failing is None:
                    assert response.status_code == 200, response.text
                    return
                assert response.status_code == 422, response.text
                answer = response.json()
                assert answer["error"] == "invalid_value"
                for field in failing:
                    assert field in answer["message"], (field, answer["message"])

            check()
    finally:
        worker.server.stop(grace=None)


def test_a_prompt_of_whitespace_python_knows_is_blank(client: TestClient) -> None:
    # Found by the properties above: pydantic's stripping kept U+001F, which the worker's blank check refuses.
    response = client.post("/generateimage", json={"positivePrompt": "\x1f\x1c "})
    assert response.status_code == 422
    assert response.json()["message"] == "positivePrompt must not be blank"


def test_an_empty_field_name_is_named_as_such(client: TestClient) -> None:
    # Found by the properties above: {"": 1} was answered as if the body were not an object.
    response = client.post("/generateimage", json={"positivePrompt": "a", "": 1})
    assert response.status_code == 422
    assert response.json()["message"].startswith('"" is not a known field')
