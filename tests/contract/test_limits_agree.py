"""The api and the worker agree on every limit: what the api accepts the worker accepts, and both refuse the edges."""

from typing import Any

import pytest
from genproto import generator_pb2, limits, samplers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.errors import describe
from api.native.protocol import GenerateImageRequest
from api.native.serving import to_proto
from worker.errors import InvalidRequest
from worker.model_loader import Defaults
from worker.params import resolve_params

# The worker's defaults only fill unset values; any that pass its own re-check will do.
DEFAULTS = Defaults(width=1024, height=1024, steps=30, guidance_scale=7.0, sampler="Euler")
# JSON names (the api) → proto names (the worker), for the numeric fields both check.
NUMERIC = {"width": "width", "height": "height", "steps": "steps", "guidanceScale": "guidance_scale", "seed": "seed"}
EDGES: dict[str, tuple[float, float]] = {
    "width": (limits.MIN_SIDE, limits.MAX_SIDE),
    "height": (limits.MIN_SIDE, limits.MAX_SIDE),
    "steps": (limits.MIN_STEPS, limits.MAX_STEPS),
    "guidanceScale": (limits.MIN_GUIDANCE, limits.MAX_GUIDANCE),
    "seed": (limits.MIN_SEED, limits.MAX_SEED),
}


def near(low: float, high: float, *, integral: bool) -> st.SearchStrategy[Any]:
    """Values inside the range, on its edges, and just past them."""
    inside: st.SearchStrategy[Any] = (
        st.integers(int(low), int(high)) if integral else st.floats(low, high, allow_nan=False)
    )
    step = 1 if integral else 0.5
    return inside | st.sampled_from([low - step, low, high, high + step])


requests = st.fixed_dictionaries(
    {"positivePrompt": st.text(min_size=0, max_size=limits.MAX_PROMPT_CHARS + 2).map(lambda t: t or " ")},
    optional={
        "negativePrompt": st.text(max_size=8) | st.just("n" * (limits.MAX_PROMPT_CHARS + 1)),
        "width": near(limits.MIN_SIDE, limits.MAX_SIDE, integral=True),
        "height": near(limits.MIN_SIDE, limits.MAX_SIDE, integral=True),
        "steps": near(limits.MIN_STEPS, limits.MAX_STEPS, integral=True),
        "guidanceScale": near(limits.MIN_GUIDANCE, limits.MAX_GUIDANCE, integral=False),
        "seed": near(limits.MIN_SEED, limits.MAX_SEED, integral=True),
        "format": st.sampled_from([*limits.FORMATS, "gif"]),
        "sampler": st.sampled_from([*samplers.SPELLINGS, "dpm++ 2m KARRAS", "Euler b", ""]),
        "scheduleType": st.sampled_from([*samplers.SCHEDULE_TYPES, "karras", "Polyexponential"]),
        "count": near(limits.MIN_COUNT, limits.MAX_COUNT, integral=True),
    },
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_whatever_the_api_accepts_the_worker_accepts(body: dict[str, Any]) -> None:
    try:
        request = GenerateImageRequest.model_validate(body)
    except ValidationError:
        return
    params = resolve_params(to_proto(request), DEFAULTS)
    assert params.prompt == request.positive_prompt
    assert params.image_count == (request.count or 1)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_the_worker_refuses_only_what_the_api_refuses(body: dict[str, Any]) -> None:
    # The converse for the choice fields: a sampler, schedule or count the worker refuses, the api refused first.
    try:
        request = GenerateImageRequest.model_validate(body)
    except ValidationError:
        return
    try:
        resolve_params(to_proto(request), DEFAULTS)
    except InvalidRequest as refused:  # pragma: no cover - a failure of this test
        raise AssertionError(f"the api accepted {body} but the worker refused: {refused.message}") from None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sampler": "Euler b"}, "sampler"),
        ({"sampler": "DDIM", "scheduleType": "Karras"}, "scheduleType"),
        ({"scheduleType": "Polyexponential"}, "scheduleType"),
        ({"count": limits.MAX_COUNT + 1}, "count"),
        ({"seed": limits.MAX_SEED, "count": 2}, "count"),
    ],
)
def test_choices_are_refused_alike(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as api:
        GenerateImageRequest.model_validate({"positivePrompt": "a cat", **body})
    proto = to_proto(GenerateImageRequest.model_construct(positive_prompt="a cat", **_snake(body)))
    with pytest.raises(InvalidRequest) as worker:
        resolve_params(proto, DEFAULTS)
    proto_field = {"scheduleType": "schedule_type"}.get(field, field)
    assert describe(api.value.errors()[0]) == worker.value.message.replace(proto_field, field)


def _snake(body: dict[str, Any]) -> dict[str, Any]:
    return {{"scheduleType": "schedule_type"}.get(key, key): value for key, value in body.items()}


def _worker_refusal(field: str, value: float) -> str | None:
    request = generator_pb2.GenerateImageRequest(positive_prompt="a cat")
    try:
        setattr(request, NUMERIC[field], value)
    except ValueError:  # out of the proto type's own range (a negative uint64): the api alone can refuse it
        return "unrepresentable"
    try:
        resolve_params(request, DEFAULTS)
    except InvalidRequest as refused:
        return refused.message
    return None


def _api_refusal(field: str, value: float) -> str | None:
    try:
        GenerateImageRequest.model_validate({"positivePrompt": "a cat", field: value})
    except ValidationError as refused:
        return describe(refused.errors()[0])
    return None


@pytest.mark.parametrize("field", list(EDGES))
def test_at_each_edge_both_refuse_the_same_values_in_the_same_words(field: str) -> None:
    low, high = EDGES[field]
    step = {"guidanceScale": 0.5, "width": limits.SIDE_STEP, "height": limits.SIDE_STEP}.get(field, 1)
    for value in (low - step, low, high, high + step):
        value = int(value) if field != "guidanceScale" else value
        api, worker = _api_refusal(field, value), _worker_refusal(field, value)
        assert (api is None) == (worker is None), (field, value, api, worker)
        if api is not None and worker != "unrepresentable":
            # The same sentence, each side naming the field as its own surface spells it.
            assert api == worker.replace(NUMERIC[field], field, 1), (field, value)


@pytest.mark.parametrize("field", ["width", "height"])
@pytest.mark.parametrize("offset", [-1, 1, limits.MAX_SIDE + 1])
def test_a_side_off_the_step_is_refused_alike(field: str, offset: int) -> None:
    value = limits.MIN_SIDE + offset  # off the step, and for 63 and 2113 off the bounds too
    assert _api_refusal(field, value) == f"{field} must be a multiple of {limits.SIDE_STEP} (got {value})"
    assert _worker_refusal(field, value) == f"{field} must be a multiple of {limits.SIDE_STEP} (got {value})"


def test_prompt_length_and_blank_are_refused_alike() -> None:
    too_long = "x" * (limits.MAX_PROMPT_CHARS + 1)
    api = _api_refusal("positivePrompt", too_long)  # type: ignore[arg-type]
    request = generator_pb2.GenerateImageRequest(positive_prompt=too_long)
    with pytest.raises(InvalidRequest) as refused:
        resolve_params(request, DEFAULTS)
    assert api is not None and api == refused.value.message.replace("positive_prompt", "positivePrompt")
