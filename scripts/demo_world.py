"""The demo model's toy world: flat shapes on flat backgrounds, drawn exactly as their captions say."""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

# The CSS named colours of the grammar (CSS Color Module Level 4), in a fixed order: index = colour id.
COLORS: Final[dict[str, tuple[int, int, int]]] = {
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
}
COLOR_NAMES: Final = tuple(COLORS)
SHAPES: Final = ("circle", "square", "triangle")
IMAGE_SIDE: Final = 256
# Drawn this many times larger and box-filtered down: anti-aliased edges with exact flat colours inside.
SUPERSAMPLE: Final = 4
# The shape's bounding box side as a fraction of the image side. The smallest triangle still covers
# 0.5 * 0.4**2 = 8% of the image; the largest square 42%, so the background stays the most common colour.
MIN_SIZE: Final = 0.40
MAX_SIZE: Final = 0.65
# Kept clear of the border, so every shape is whole.
MARGIN: Final = 0.04


@dataclass(frozen=True)
class Scene:
    """One image: a shape of a colour on a background of another, its box's centre and side as image fractions."""

    shape: str
    color: str
    background: str
    cx: float
    cy: float
    size: float

    @property
    def caption(self) -> str:
        """The caption, in the grammar's one form."""
        return caption(self.color, self.shape, self.background)


def caption(color: str, shape: str, background: str) -> str:
    """`a {color} {shape} on a {background} background`."""
    return f"a {color} {shape} on a {background} background"


# The prompt a newcomer is shown first (README, the page's notice).
EXAMPLE: Final = "a yellow circle on a blue background"


def grammar() -> str:
    """What the demo model draws, in one line: the caption's form, its words and an example."""
    return (
        f'flat shapes on flat backgrounds: "a {{color}} {{shape}} on a {{color}} background" with the colors '
        f'{", ".join(COLOR_NAMES)} and the shapes {", ".join(SHAPES)} (two different colors), e.g. "{EXAMPLE}"'
    )


def all_captions() -> list[str]:
    """Every caption of the grammar (8 x 7 x 3 = 168), in a fixed order."""
    return [caption(c, s, b) for c, s, b in caption_parts()]


def caption_parts() -> Iterator[tuple[str, str, str]]:
    """(color, shape, background) of every caption, shape colour and background always different."""
    for color in COLOR_NAMES:
        for shape in SHAPES:
            for background in COLOR_NAMES:
                if background != color:
                    yield color, shape, background


def parse_caption(text: str) -> tuple[str, str, str] | None:
    """(color, shape, background) of a caption in the grammar, or None for any other text."""
    words = text.strip().lower().split()
    if len(words) != 7 or words[0] != "a" or words[3:5] != ["on", "a"] or words[6] != "background":
        return None
    color, shape, background = words[1], words[2], words[5]
    if color not in COLORS or background not in COLORS or shape not in SHAPES or color == background:
        return None
    return color, shape, background


def random_scene(rng: random.Random, parts: tuple[str, str, str] | None = None) -> Scene:
    """A scene drawn from `rng`: the given caption parts (or random ones), a random size and position."""
    color, shape, background = parts if parts is not None else rng.choice(list(caption_parts()))
    size = rng.uniform(MIN_SIZE, MAX_SIZE)
    low, high = MARGIN + size / 2, 1 - MARGIN - size / 2
    return Scene(shape, color, background, rng.uniform(low, high), rng.uniform(low, high), size)


def render(scene: Scene, side: int = IMAGE_SIDE) -> npt.NDArray[np.uint8]:
    """The scene as a side x side x 3 uint8 image."""
    big = side * SUPERSAMPLE
    image = Image.new("RGB", (big, big), COLORS[scene.background])
    draw = ImageDraw.Draw(image)
    half = scene.size * big / 2
    left, top = scene.cx * big - half, scene.cy * big - half
    right, bottom = scene.cx * big + half, scene.cy * big + half
    fill = COLORS[scene.color]
    if scene.shape == "circle":
        draw.ellipse((left, top, right, bottom), fill=fill)
    elif scene.shape == "square":
        draw.rectangle((left, top, right, bottom), fill=fill)
    else:
        # Upright isosceles: base and height the box's side, so it fills half its bounding box.
        draw.polygon([(scene.cx * big, top), (right, bottom), (left, bottom)], fill=fill)
    # BOX averages each 4x4 block exactly: edges blend, flat areas keep their exact colour.
    return np.asarray(image.resize((side, side), Image.Resampling.BOX), dtype=np.uint8)


def scenes(seed: int, count: int) -> Iterator[Scene]:
    """`count` scenes from one seed, every caption equally likely; the same seed gives the same scenes."""
    rng = random.Random(seed)
    for _ in range(count):
        yield random_scene(rng)
