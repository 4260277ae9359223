"""AUTOMATIC1111's attention syntax: a prompt as (text, weight) pieces, with BREAK markers between 75-token chunks.

The rules, as A1111's wiki ("Features: Attention/emphasis", "BREAK") and its parser behave:

- `(text)` multiplies the weight of `text` by 1.1, `((text))` by 1.21, `[text]` divides it by 1.1;
- `(text:1.3)` multiplies it by 1.3 (so alone it sets 1.3); enclosing brackets multiply on top;
- `\\(`, `\\)`, `\\[`, `\\]` and `\\\\` are the literal characters; a lone backslash before anything else is dropped;
- an unclosed `(` or `[` applies to the rest of the prompt; a `)`, `]` or `:1.3)` that closes nothing is literal text;
- `BREAK` (uppercase, a whole word) ends the current 75-token chunk; it is the piece `BREAK` below.

Where this differs from A1111, on purpose:

- a `BREAK` inside brackets is still a chunk break (A1111 scales its marker and ends up encoding the word "BREAK");
- a weight must be a number (`1`, `1.`, `.5`, `-0.3`); A1111 fails on `(a:1.2.3)`, here `:1.2.3` is plain text;
- empty pieces are dropped (they hold no tokens), so `()` or an empty prompt parse to no pieces at all.

Prompt editing (`[from:to:when]`) and alternation (`[a|b]`) are not supported: like any other text they go through
the rules above, so `[a:b:0.5]` is the text `a:b:0.5` at weight 1/1.1, which is what A1111's attention parser alone
makes of it.
"""

import re
from functools import lru_cache
from typing import Final

Piece = tuple[str, float]
ParsedPrompt = tuple[Piece, ...]

# The chunk break, as A1111 spells its marker; a text piece never equals it unless it is the same marker in A1111
# too (the word BREAK spelled around a lone backslash and weighted exactly -1, as in `(BREA\K:-1)`).
BREAK: Final[Piece] = ("BREAK", -1.0)
ROUND_MULTIPLIER: Final = 1.1
SQUARE_MULTIPLIER: Final = 1 / 1.1

_TOKEN = re.compile(
    r"""
    \\[()\[\]\\]                                        # an escaped bracket or backslash: the character itself
    | \\                                                # a lone backslash: dropped, as A1111 does
    | \( | \[
    | :\s*(?P<weight>[+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*\)  # the end of (text:1.3)
    | \) | \]
    | [^\\()\[\]:]+                                     # plain text
    | :                                                 # a colon that is not a weight
    """,
    re.VERBOSE,
)
_BREAK_WORD = re.compile(r"\s*\bBREAK\b\s*")


@lru_cache(maxsize=256)
def parse_prompt(text: str) -> ParsedPrompt:
    """The prompt's (text, weight) pieces and BREAK markers, adjacent pieces of equal weight merged."""
    # Mutable [text, weight] pairs, because a closing bracket scales everything since its opening one.
    pieces: list[list[str | float]] = []
    # One shared object, told apart by identity: brackets never scale it and merging never joins it.
    break_marker: list[str | float] = list(BREAK)
    round_open: list[int] = []
    square_open: list[int] = []

    def scale(start: int, factor: float) -> None:
        for piece in pieces[start:]:
            if piece is not break_marker:
                piece[1] = float(piece[1]) * factor

    for match in _TOKEN.finditer(text):
        token, weight = match.group(0), match.group("weight")
        if token.startswith("\\"):
            pieces.append([token[1:], 1.0])
        elif token == "(":
            round_open.append(len(pieces))
        elif token == "[":
            square_open.append(len(pieces))
        elif weight is not None and round_open:
            scale(round_open.pop(), float(weight))
        elif token == ")" and round_open:
            scale(round_open.pop(), ROUND_MULTIPLIER)
        elif token == "]" and square_open:
            scale(square_open.pop(), SQUARE_MULTIPLIER)
        else:
            for index, part in enumerate(_BREAK_WORD.split(token)):
                if index:
                    pieces.append(break_marker)
                pieces.append([part, 1.0])
    for start in round_open:
        scale(start, ROUND_MULTIPLIER)
    for start in square_open:
        scale(start, SQUARE_MULTIPLIER)
    return _merge(pieces, break_marker)


def _merge(pieces: list[list[str | float]], break_marker: list[str | float]) -> ParsedPrompt:
    merged: list[Piece] = []
    previous_was_text = False
    for piece in pieces:
        if piece is break_marker:
            merged.append(BREAK)
            previous_was_text = False
            continue
        text, weight = str(piece[0]), float(piece[1])
        if not text:
            continue
        # Pieces are tokenized one by one, so merging equal weights keeps words whole, as A1111 does.
        if previous_was_text and merged[-1][1] == weight:
            merged[-1] = (merged[-1][0] + text, weight)
        else:
            merged.append((text, weight))
        previous_was_text = True
    return tuple(merged)


def is_weighted(parsed: ParsedPrompt) -> bool:
    """Whether any piece has a weight other than 1.0 (BREAK markers aside)."""
    return any(piece != BREAK and piece[1] != 1.0 for piece in parsed)
