"""The adherence scorer on hand-made images (colours by nearest CSS colour, shapes by their box's fill ratio), and
the demo model scored by it on a small set of prompts and seeds that training never saw."""

import numpy as np
import numpy.typing as npt

from scripts.demo_eval import (
    COLOR_NAMES,
    COLORS,
    OFF_GRAMMAR,
    TARGETS,
    classify_shape,
    evaluation_jobs,
    fill_ratio,
    generate,
    meets_targets,
    quantize,
    score,
    summarise,
)
from worker.model_loader import LoadedModel

SIDE = 128


def _canvas(background: str) -> npt.NDArray[np.uint8]:
    return np.full((SIDE, SIDE, 3), COLORS[background], dtype=np.uint8)


def _square(image: npt.NDArray[np.uint8], color: str, top: int, left: int, side: int) -> None:
    image[top : top + side, left : left + side] = COLORS[color]


def _circle(image: npt.NDArray[np.uint8], color: str, cy: float, cx: float, radius: float) -> None:
    rows, cols = np.mgrid[:SIDE, :SIDE]
    image[(rows + 0.5 - cy) ** 2 + (cols + 0.5 - cx) ** 2 <= radius**2] = COLORS[color]


def _triangle(image: npt.NDArray[np.uint8], color: str, top: int, left: int, side: int) -> None:
    for row in range(side):
        half = (row + 0.5) / side * side / 2
        centre = left + side / 2
        image[top + row, round(centre - half) : round(centre + half)] = COLORS[color]


def test_pixels_go_to_the_nearest_css_colour() -> None:
    pixels = np.array([[[250, 10, 5], [10, 120, 20], [240, 170, 30], [120, 10, 140], [30, 30, 30]]], dtype=np.uint8)
    assert [COLOR_NAMES[i] for i in quantize(pixels)[0]] == ["red", "green", "orange", "purple", "black"]


def test_fill_ratios_name_the_shapes() -> None:
    for draw, shape in ((_square, "square"), (_triangle, "triangle")):
        image = _canvas("black")
        draw(image, "white", 20, 30, 70)
        assert classify_shape(fill_ratio(quantize(image) == COLOR_NAMES.index("white"))) == shape
    image = _canvas("black")
    _circle(image, "white", 64, 64, 35)
    assert abs(fill_ratio(quantize(image) == COLOR_NAMES.index("white")) - np.pi / 4) < 0.02
    assert fill_ratio(np.zeros((4, 4), dtype=bool)) == 0.0


def test_stray_pixels_of_the_shape_colour_do_not_stretch_its_box() -> None:
    image = _canvas("blue")
    _square(image, "red", 40, 40, 50)
    image[2, 2] = image[125, 125] = COLORS["red"]
    result = score(image, "red", "square", "blue")
    assert result.shape_ok and result.fill_ratio == 1.0


def test_a_matching_image_passes_every_check() -> None:
    image = _canvas("green")
    _circle(image, "yellow", 60, 70, 30)
    result = score(image, "yellow", "circle", "green")
    assert (result.background_ok, result.color_ok, result.shape_ok) == (True, True, True)
    assert result.background == "green" and result.shape == "circle"


def test_each_check_fails_on_its_own_mistake() -> None:
    image = _canvas("white")
    _triangle(image, "purple", 10, 10, 100)
    assert not score(image, "purple", "triangle", "black").background_ok
    assert not score(image, "orange", "triangle", "white").color_ok
    assert not score(image, "purple", "square", "white").shape_ok


def test_a_shape_under_four_percent_of_the_image_is_not_found() -> None:
    image = _canvas("black")
    _square(image, "red", 10, 10, 24)  # 576 / 16384 = 3.5%
    result = score(image, "red", "square", "black")
    assert not result.color_ok and result.shape_share < 0.04


def test_a_third_colour_outranking_the_asked_one_fails_the_colour_check() -> None:
    image = _canvas("black")
    _square(image, "white", 0, 0, 60)
    _square(image, "red", 80, 80, 40)
    assert not score(image, "red", "square", "black").color_ok


def test_rates_are_shares_of_the_images() -> None:
    image = _canvas("blue")
    _square(image, "red", 30, 30, 60)
    scores = [score(image, "red", "square", "blue"), score(image, "red", "circle", "blue")]
    assert summarise(scores) == {"background": 1.0, "shape_color": 1.0, "shape_kind": 0.5}
    assert summarise([]) == {"background": 0.0, "shape_color": 0.0, "shape_kind": 0.0}


def test_the_demo_model_meets_its_targets_on_a_small_unseen_set(demo_model: LoadedModel) -> None:
    # Every 7th caption (24, all shapes and colours), at the model's own defaults, as `make demo-eval` renders.
    jobs = evaluation_jobs(per_caption=1, every=7)
    d = demo_model.defaults
    prompts = [f"a {c} {s} on a {b} background" for (c, s, b), _ in jobs]
    images = generate(demo_model.pipeline, prompts, [seed for _, seed in jobs], d.steps, d.guidance_scale, d.width)
    rates = summarise([score(image, *parts) for image, (parts, _) in zip(images, jobs, strict=True)])
    assert all(meets_targets(rates).values()), (rates, TARGETS)


def test_prompts_outside_the_grammar_still_give_images(demo_model: LoadedModel) -> None:
    d = demo_model.defaults
    images = generate(demo_model.pipeline, list(OFF_GRAMMAR), [1] * len(OFF_GRAMMAR), 2, d.guidance_scale, d.width)
    assert [image.shape for image in images] == [(d.height, d.width, 3)] * len(OFF_GRAMMAR)
