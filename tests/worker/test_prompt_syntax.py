"""A1111's attention syntax: prompts and the (text, weight) pieces they parse to."""

import pytest

from worker.prompt_syntax import BREAK, ParsedPrompt, is_weighted, parse_prompt

UP = 1.1
DOWN = 1 / 1.1

# The weights are written as the parser multiplies them (innermost bracket first), so they compare exactly.
CASES: list[tuple[str, ParsedPrompt]] = [
    ("normal text", (("normal text", 1.0),)),
    ("", ()),
    ("   ", (("   ", 1.0),)),
    ("a cat, a dog, a bird", (("a cat, a dog, a bird", 1.0),)),
    ("an (important) word", (("an ", 1.0), ("important", UP), (" word", 1.0))),
    ("((a))", (("a", UP * UP),)),
    ("(((a)))", (("a", UP * UP * UP),)),
    ("[a]", (("a", DOWN),)),
    ("[[a]]", (("a", DOWN * DOWN),)),
    ("([a])", (("a", DOWN * UP),)),
    ("(a:0.5)", (("a", 0.5),)),
    ("(a:1.3) b [c]", (("a", 1.3), (" b ", 1.0), ("c", DOWN))),
    ("( a : 1.3 )", ((" a ", 1.3),)),
    ("(a:.5)", (("a", 0.5),)),
    ("(a:2)", (("a", 2.0),)),
    ("(a:-0.5)", (("a", -0.5),)),
    ("((a:1.3))", (("a", 1.3 * UP),)),
    ("[(a:1.3)]", (("a", 1.3 * DOWN),)),
    ("(a (b:1.5) c)", (("a ", UP), ("b", 1.5 * UP), (" c", UP))),
    ("(a:1.0)", (("a", 1.0),)),
    ("x (a:1.0) y", (("x a y", 1.0),)),
    ("(a:1.1)(b)", (("ab", UP),)),
    ("(unnecessary)(parens)", (("unnecessaryparens", UP),)),
    (
        "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
        (
            ("a ", 1.0),
            ("house", 1.3 * UP * UP),
            (" ", UP),
            ("on", 1.0),
            (" a ", UP),
            ("hill", 0.5 * UP),
            (", sun, ", UP),
            ("sky", UP * UP * UP * UP),
            (".", UP),
        ),
    ),
    # Escapes: the character itself, at the weight around it; a lone backslash is dropped, as in A1111.
    (r"\(literal\]", (("(literal]", 1.0),)),
    (r"\(a\) \[b\] \\", (("(a) [b] \\", 1.0),)),
    (r"(a \(b\))", (("a (b)", UP),)),
    (r"a\b", (("ab", 1.0),)),
    # Unbalanced: an unclosed bracket applies to the rest; a bracket or weight that closes nothing is text.
    ("(unbalanced", (("unbalanced", UP),)),
    ("a (b c", (("a ", 1.0), ("b c", UP))),
    ("a [b c", (("a ", 1.0), ("b c", DOWN))),
    ("((a) b", (("a", UP * UP), (" b", UP))),
    ("a) b] c", (("a) b] c", 1.0),)),
    ("a:1.3) b", (("a:1.3) b", 1.0),)),
    ("[a:1.3]", (("a:1.3", DOWN),)),
    ("(a]", (("a]", UP),)),
    ("()", ()),
    ("(a:1.2.3)", (("a:1.2.3", UP),)),
    ("time: 12:30", (("time: 12:30", 1.0),)),
    # Prompt editing is not supported: the attention rules alone apply.
    ("[a:b:0.5]", (("a:b:0.5", DOWN),)),
    ("[a|b]", (("a|b", DOWN),)),
    # BREAK: uppercase, a whole word, the whitespace around it taken with it; never weighted, never merged.
    ("a BREAK b", (("a", 1.0), BREAK, ("b", 1.0))),
    ("a\nBREAK\nb", (("a", 1.0), BREAK, ("b", 1.0))),
    ("BREAK", (BREAK,)),
    ("BREAK a", (BREAK, ("a", 1.0))),
    ("a BREAK BREAK b", (("a", 1.0), BREAK, BREAK, ("b", 1.0))),
    ("(a BREAK b)", (("a", UP), BREAK, ("b", UP))),
    ("(a)BREAK(b)", (("a", UP), BREAK, ("b", UP))),
    ("a break b, BREAKFAST, xBREAK", (("a break b, BREAKFAST, xBREAK", 1.0),)),
]


@pytest.mark.parametrize(("prompt", "expected"), CASES, ids=[repr(prompt) for prompt, _ in CASES])
def test_parses_as_a1111_does(prompt: str, expected: ParsedPrompt) -> None:
    assert parse_prompt(prompt) == expected


def test_a_weight_of_one_parses_to_the_same_pieces_as_no_weight() -> None:
    assert parse_prompt("a photo of a (cat:1.0), (dog:1.0) on grass") == parse_prompt("a photo of a cat, dog on grass")


def test_the_result_is_hashable_and_equal_prompts_share_a_key() -> None:
    cache = {parse_prompt("(cat:1.0)"): "cached"}
    assert cache[parse_prompt("cat")] == "cached"


def test_a_2000_character_prompt_keeps_every_character_and_weight() -> None:
    phrase = "(a lighthouse:1.2) on a [rocky] cliff, ((stormy sea)), "
    prompt = (phrase * (2000 // len(phrase) + 1))[:2000]
    parsed = parse_prompt(prompt)
    kept = "".join(text for text, _ in parsed)
    assert kept == prompt.replace("(", "").replace(")", "").replace("[", "").replace("]", "").replace(":1.2", "")
    assert {weight for _, weight in parsed} == {1.2, 1.0, DOWN, UP * UP}


def test_is_weighted_ignores_break_markers() -> None:
    assert not is_weighted(parse_prompt("a BREAK (b:1.0)"))
    assert is_weighted(parse_prompt("a BREAK (b)"))
