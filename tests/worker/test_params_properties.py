"""Property tests of the worker's request checks: any request is either refused naming a field, or safe to run."""

from genproto import generator_pb2
from genproto.limits import FORMATS, MAX_GUIDANCE, MAX_SIDE, MAX_STEPS, MIN_SIDE
from hypothesis import example, given, settings
from hypothesis import strategies as st

from worker.errors import InvalidRequest
from worker.model_loader import Defaults
from worker.params import resolve_params

DEFAULTS = Defaults(1024, 1024, 30, 7.0)
# Every field a refusal may name: the proto's own, so a check added to the worker needs no edit here.
FIELDS = tuple(generator_pb2.GenerateImageRequest.DESCRIPTOR.fields_by_name)

requests = st.builds(
    generator_pb2.GenerateImageRequest,
    positive_prompt=st.text(max_size=2100),
    negative_prompt=st.text(max_size=2100),
    width=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    height=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    steps=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    guidance_scale=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    seed=st.one_of(st.none(), st.integers(0, 2**64 - 1)),
    format=st.one_of(st.none(), st.sampled_from([*FORMATS, "gif", "PNG", ""])),
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(requests)
# Found by this test (random run): the worker's seed bound, a check newer than this file's field list.
@example(generator_pb2.GenerateImageRequest(positive_prompt="0", seed=2**53))
def test_every_request_is_refused_naming_a_field_or_within_every_limit(
    request: generator_pb2.GenerateImageRequest,
) -> None:
    try:
        params = resolve_params(request, DEFAULTS)
    except InvalidRequest as refused:
        assert refused.message.split(" ")[0] in FIELDS, refused.message
        return
    assert params.prompt.strip() and len(params.prompt) <= 2000 and len(params.negative_prompt) <= 2000
    for side in (params.width, params.height):
        assert MIN_SIDE <= side <= MAX_SIDE and side % 8 == 0
    assert 1 <= params.steps <= MAX_STEPS
    assert 0 <= params.guidance_scale <= MAX_GUIDANCE
    assert 0 <= params.seed < 2**64
    assert params.image_format in FORMATS
