"""The toy world draws exactly what its captions say, as the adherence scorer measures it."""

import random

import numpy as np

from scripts.demo_eval import score, summarise
from scripts.demo_world import (
    COLORS,
    IMAGE_SIDE,
    SHAPES,
    Scene,
    all_captions,
    caption_parts,
    parse_caption,
    random_scene,
    render,
    scenes,
)


def test_the_grammar_has_every_colour_pair_and_shape_once() -> None:
    captions = all_captions()
    assert len(captions) == len(set(captions)) == 8 * 7 * 3
    assert "a red circle on a blue background" in captions
    assert all(color != background for color, _, background in caption_parts())
    assert {parse_caption(text) for text in captions} == set(caption_parts())


def test_text_outside_the_grammar_parses_to_none() -> None:
    for text in ("", "a photo of a cat", "a red circle on a red background", "a pink circle on a blue background"):
        assert parse_caption(text) is None


def test_the_scorer_finds_every_caption_in_the_renderers_images() -> None:
    rng = random.Random(0)
    drawn = [random_scene(rng, parts) for parts in caption_parts()]
    scores = [score(render(scene), scene.color, scene.shape, scene.background) for scene in drawn]
    assert summarise(scores) == {"background": 1.0, "shape_color": 1.0, "shape_kind": 1.0}


def test_the_extremes_of_size_still_score_as_asked() -> None:
    for shape in SHAPES:
        for size in (0.40, 0.65):
            scene = Scene(shape, "orange", "purple", 0.5, 0.5, size)
            result = score(render(scene), "orange", shape, "purple")
            assert (result.background_ok, result.color_ok, result.shape_ok) == (True, True, True), (shape, size)


def test_images_are_exact_flat_colours_with_anti_aliased_edges() -> None:
    scene = Scene("circle", "yellow", "blue", 0.5, 0.5, 0.5)
    image = render(scene)
    assert image.shape == (IMAGE_SIDE, IMAGE_SIDE, 3) and image.dtype == np.uint8
    assert tuple(image[128, 128]) == COLORS["yellow"] and tuple(image[2, 2]) == COLORS["blue"]
    colours = {tuple(pixel) for pixel in image.reshape(-1, 3)}
    # The 4x supersampling leaves blends of the two colours along the edge, and nothing else.
    assert len(colours) > 2
    assert all(r == g for r, g, _ in colours)


def test_the_same_seed_draws_the_same_world() -> None:
    first, second = list(scenes(7, 5)), list(scenes(7, 5))
    assert first == second != list(scenes(8, 5))
    assert all(np.array_equal(render(a), render(b)) for a, b in zip(first, second, strict=True))
