"""A1111's `<lora:name:weight>` prompt tags: taken out of the text the encoders see, returned in order.

As A1111 reads them (modules/extra_networks.py `parse_prompt`, extensions-builtin/Lora/extra_networks_lora.py):
- a tag is `<kind:arguments>` matching `<(\\w+):([^>]+)>`; its arguments split on `:`, and one holding `=` is a
  named argument (`te=0.5`), any other a positional one;
- the first positional is the name (sub-folders with `/`, spaces and dots allowed; `:` and `>` cannot be written);
  the second, the weight (1.0 when absent; `te=` names it too);
- the tag's text is replaced by nothing and nothing else changes: `cat, <lora:x:1>, dog` reaches CLIP as
  `cat, , dog`, so a prompt gives the same tokens here as in A1111;
- `lyco` is another name for `lora` (extensions-builtin/Lora/scripts/lora_script.py registers the alias).

Not supported, refused with one line rather than half-applied: a UNet weight other than the text-encoder weight (a
third positional or `unet=`, A1111's `<lora:name:te:unet>`) and `dyn=` (dynamic rank). Named arguments A1111 itself
does not read are ignored, as there. Other extra networks (`<hypernet:…>`) are left in the text for the caller to
judge; A1111 strips them too. A1111 reads tags in the positive prompt only. Whether the weight is finite and in range
is the caller's check (genproto.limits), as for any other number of a request.
"""

import re

from worker.errors import InvalidRequest

_EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")
_LORA_KINDS = frozenset({"lora", "lyco"})


def _number(tag: str, text: str) -> float:
    try:
        return float(text)  # Python's float(), as A1111 parses it: "0.8", " 1", "1e-1", "-.5"
    except ValueError:
        raise InvalidRequest(f"{tag}: the weight must be a number (got {text!r})") from None


def _parse(tag: str, arguments: str) -> tuple[str, float]:
    positional: list[str] = []
    named: dict[str, str] = {}
    for item in arguments.split(":"):
        parts = item.split("=", 2)
        if len(parts) == 2:
            named[parts[0]] = parts[1]
        else:
            positional.append(item)
    if not positional or not positional[0]:
        raise InvalidRequest(f"{tag}: names no LoRA")
    if "dyn" in named or len(positional) > 3:
        raise InvalidRequest(f"{tag}: dyn (a dynamic rank) is not supported; give a name and one weight")
    weight = _number(tag, positional[1]) if len(positional) > 1 else 1.0
    weight = _number(tag, named["te"]) if "te" in named else weight
    # A1111: the UNet weight defaults to the text-encoder weight; here they are one weight, so a different one is
    # refused rather than silently applied to both.
    unet = named.get("unet", positional[2] if len(positional) > 2 else None)
    if unet is not None and _number(tag, unet) != weight:
        raise InvalidRequest(
            f"{tag}: separate text-encoder and UNet weights are not supported; give one weight, "
            f"as <lora:{positional[0]}:{weight:g}>"
        )
    return positional[0], weight


def extract_lora_tags(prompt: str) -> tuple[str, list[tuple[str, float]]]:
    """The prompt without its LoRA tags, and each tag's (name, weight) in the order written (repeats kept)."""
    found: list[tuple[str, float]] = []

    def take(match: re.Match[str]) -> str:
        if match.group(1) not in _LORA_KINDS:
            return match.group(0)
        found.append(_parse(match.group(0), match.group(2)))
        return ""

    return _EXTRA_NETWORK.sub(take, prompt), found
