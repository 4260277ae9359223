"""A1111's `<lora:name:weight>` tags: what the encoders see afterwards and which LoRAs, as A1111 reads them."""

import math

import pytest

from worker.errors import InvalidRequest
from worker.lora_tags import extract_lora_tags

TAGS = [
    # (prompt, the text the encoders see, the tags in order)
    ("a lighthouse", "a lighthouse", []),
    ("a lighthouse <lora:ink:0.8>", "a lighthouse ", [("ink", 0.8)]),
    ("<lora:ink>", "", [("ink", 1.0)]),
    # A1111 replaces the tag's text by nothing and touches nothing around it: CLIP sees the comma twice.
    ("cat, <lora:ink:0.5>, dog", "cat, , dog", [("ink", 0.5)]),
    ("<lora:ink:0.5> cat", " cat", [("ink", 0.5)]),
    # Sub-folders, spaces and dots in a name; negative weights.
    ("<lora:style/ink v1.2:-1>", "", [("style/ink v1.2", -1.0)]),
    ("<lora:a:1><lora:b:0.25> x <lora:a:0.5>", " x ", [("a", 1.0), ("b", 0.25), ("a", 0.5)]),
    ("(<lora:a:1>:1.2) BREAK [b]", "(:1.2) BREAK [b]", [("a", 1.0)]),
    # Python's float(), as A1111 parses the weight.
    ("<lora:a:1e-1>", "", [("a", 0.1)]),
    ("<lora:a: 0.5 >", "", [("a", 0.5)]),
    ("<lora:a:.5>", "", [("a", 0.5)]),
    # The name as written: A1111 does not strip it either, and the library lookup says " a" is not there.
    ("<lora: a:1>", "", [(" a", 1.0)]),
    # `lyco` is A1111's other name for lora.
    ("<lyco:a:0.7>", "", [("a", 0.7)]),
    # te= is the one weight; a UNet weight equal to it is the same one weight.
    ("<lora:a:te=0.6>", "", [("a", 0.6)]),
    ("<lora:a:0.6:0.6>", "", [("a", 0.6)]),
    ("<lora:a:0.5:unet=0.5>", "", [("a", 0.5)]),
    # Named arguments A1111 does not read are ignored there too.
    ("<lora:a:1:lbw=OUTD>", "", [("a", 1.0)]),
    # Other extra networks stay in the text for the caller to judge; so does what is no tag at all.
    ("<hypernet:h:1> <lora:a>", "<hypernet:h:1> ", [("a", 1.0)]),
    ("<LORA:a:1>", "<LORA:a:1>", []),
    ("a <lora:> b", "a <lora:> b", []),
    ("<lora:a:1", "<lora:a:1", []),
    ("a <b> c", "a <b> c", []),
]


@pytest.mark.parametrize(("prompt", "text", "tags"), TAGS)
def test_tags_are_taken_out_as_a1111_does(prompt: str, text: str, tags: list[tuple[str, float]]) -> None:
    assert extract_lora_tags(prompt) == (text, tags)


REFUSED = [
    ("<lora:a:abc>", "the weight must be a number (got 'abc')"),
    ("<lora:a:>", "the weight must be a number (got '')"),
    ("<lora:a:te=x>", "the weight must be a number (got 'x')"),
    ("<lora::1>", "names no LoRA"),
    ("<lora:te=1>", "names no LoRA"),
    ("<lora:a:1:0.5>", "separate text-encoder and UNet weights are not supported"),
    ("<lora:a:1:unet=0>", "separate text-encoder and UNet weights are not supported"),
    ("<lora:a:1:1:4>", "dyn (a dynamic rank) is not supported"),
    ("<lora:a:1:dyn=4>", "dyn (a dynamic rank) is not supported"),
]


@pytest.mark.parametrize(("prompt", "words"), REFUSED)
def test_what_cannot_be_applied_as_written_is_refused_in_one_line(prompt: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        extract_lora_tags(f"a lighthouse {prompt} at dusk")
    assert refused.value.message.startswith(f"{prompt}: ")
    assert words in refused.value.message
    assert "\n" not in refused.value.message


def test_a_weight_that_is_no_finite_number_is_left_to_the_range_check() -> None:
    # float() reads "nan" and "inf"; the request's range check refuses them with the words every number gets.
    _, [(_, weight)] = extract_lora_tags("<lora:a:nan>")
    assert math.isnan(weight)
    assert extract_lora_tags("<lora:a:-inf>")[1] == [("a", -math.inf)]
