"""The worker's own request checks: INVALID_ARGUMENT naming field, limit and value; defaults for unset values."""

import pytest
from genproto import generator_pb2

from worker.errors import InvalidRequest
from worker.model_loader import Defaults
from worker.params import RANDOM_SEED_BOUND, resolve_params

DEFAULTS = Defaults(width=1024, height=1024, steps=30, guidance_scale=7.0)


def request(**fields: object) -> generator_pb2.GenerateImageRequest:
    return generator_pb2.GenerateImageRequest(positive_prompt="a lighthouse at dusk", **fields)


def test_unset_values_take_the_model_defaults_and_a_random_seed_below_2_pow_53() -> None:
    p = resolve_params(request(), DEFAULTS)
    assert (p.width, p.height, p.steps, p.guidance_scale) == (1024, 1024, 30, 7.0)
    assert 0 <= p.seed < RANDOM_SEED_BOUND
    assert resolve_params(request(), DEFAULTS).seed != p.seed  # random, not a constant


def test_set_values_are_used_even_when_zero() -> None:
    p = resolve_params(request(width=512, height=768, steps=5, guidance_scale=0.0, seed=0), DEFAULTS)
    assert (p.width, p.height, p.steps, p.guidance_scale, p.seed) == (512, 768, 5, 0.0, 0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"positive_prompt": "   "}, "positive_prompt must not be blank"),
        ({"positive_prompt": "x" * 2001}, "positive_prompt must be at most 2000 characters (got 2001)"),
        ({"negative_prompt": "x" * 2001}, "negative_prompt must be at most 2000 characters (got 2001)"),
        ({"width": 1001}, "width must be a multiple of 8 (got 1001)"),
        ({"height": 0}, "height must be at least 64 (got 0)"),
        ({"width": 4096}, "width must be at most 2048 (got 4096)"),
        ({"steps": 0}, "steps must be at least 1 (got 0)"),
        ({"steps": 151}, "steps must be at most 150 (got 151)"),
        ({"guidance_scale": 30.5}, "guidance_scale must be at most 30 (got 30.5)"),
        ({"guidance_scale": float("nan")}, "guidance_scale must be a finite number (got nan)"),
        # The api's upper bound, re-checked: a larger seed would not survive a JavaScript client.
        ({"seed": 2**53}, "seed must be at most 9007199254740991 (got 9007199254740992)"),
        ({"format": "gif"}, "format must be one of 'png', 'jpeg' or 'webp' (got \"gif\")"),
    ],
)
def test_invalid_values_are_refused_naming_field_limit_and_value(fields: dict[str, object], message: str) -> None:
    req = generator_pb2.GenerateImageRequest(positive_prompt="a cat")
    for name, value in fields.items():
        setattr(req, name, value)
    with pytest.raises(InvalidRequest) as raised:
        resolve_params(req, DEFAULTS)
    assert raised.value.message == message
