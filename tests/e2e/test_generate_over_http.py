"""What a curl user gets from POST /generateimage on the real stack (real api, real worker, demo model)."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np

from scripts.demo_world import EXAMPLE
from tests.e2e.images import png_pixels
from worker.demo_model import DEMO_MODEL_DIR
from worker.model_sidecar import read_sidecar

SMALL = {"width": 128, "height": 96, "steps": 3}


def generate(http: httpx.Client, **body: object) -> httpx.Response:
    return http.post("/generateimage", json={"positivePrompt": "a lighthouse at dusk", **body})


def test_health_keeps_the_original_shape(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200 and isinstance(body["timestamp"], int)


def test_ready_names_the_demo_model_and_its_defaults(http: httpx.Client) -> None:
    response = http.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["demoModel"] is True
    assert body["model"] == "demo-shapes"
    assert body["device"] == "cpu"
    # The demo's own defaults (its img-generator.json), and what it draws.
    sidecar = read_sidecar(DEMO_MODEL_DIR)
    assert body["defaults"] == {
        "width": 256,
        "height": 256,
        "steps": sidecar.steps,
        "guidanceScale": sidecar.guidance_scale,
        "sampler": "Euler",
    }
    assert body["description"] == sidecar.description and EXAMPLE in body["description"]
    assert body["maxCount"] == 8


def test_original_two_field_request_gets_a_png_at_the_model_defaults(http: httpx.Client) -> None:
    response = http.post("/generateimage", json={"positivePrompt": "a lighthouse at dusk", "negativePrompt": "blurry"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    seed = response.headers["x-seed"]
    assert response.headers["content-disposition"] == f"inline; filename=img-{seed}.png"
    assert png_pixels(response.content).shape == (256, 256, 3)  # the demo model's own size
    assert response.headers["x-steps"] == str(read_sidecar(DEMO_MODEL_DIR).steps)
    assert response.headers["x-demo-model"] == "true"


def test_png_has_the_requested_size_and_headers_report_the_values_used(http: httpx.Client) -> None:
    response = generate(http, width=192, height=64, steps=2, guidanceScale=3.5, seed=42)
    assert response.status_code == 200, response.text
    assert png_pixels(response.content).shape == (64, 192, 3)
    h = response.headers
    assert (h["x-seed"], h["x-width"], h["x-height"], h["x-steps"]) == ("42", "192", "64", "2")
    assert float(h["x-guidance-scale"]) == 3.5
    assert float(h["x-generation-seconds"]) > 0


def test_same_seed_gives_the_same_pixels_and_another_seed_other_pixels(http: httpx.Client) -> None:
    first = png_pixels(generate(http, seed=1234, **SMALL).content)
    again = png_pixels(generate(http, seed=1234, **SMALL).content)
    other = png_pixels(generate(http, seed=1235, **SMALL).content)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_unset_seed_is_random_and_reported_so_it_can_be_reproduced(http: httpx.Client) -> None:
    first = generate(http, **SMALL)
    second = generate(http, **SMALL)
    assert first.headers["x-seed"] != second.headers["x-seed"]
    again = generate(http, seed=int(first.headers["x-seed"]), **SMALL)
    assert np.array_equal(png_pixels(first.content), png_pixels(again.content))


def test_concurrent_requests_each_get_exactly_what_they_get_alone(http: httpx.Client) -> None:
    seeds = [11, 12, 13, 14, 15, 16]
    alone = {seed: png_pixels(generate(http, seed=seed, **SMALL).content) for seed in seeds}
    with ThreadPoolExecutor(max_workers=len(seeds)) as pool:
        together = dict(zip(seeds, pool.map(lambda s: generate(http, seed=s, **SMALL), seeds), strict=True))
    for seed in seeds:
        assert together[seed].status_code == 200
        assert together[seed].headers["x-seed"] == str(seed)
        assert np.array_equal(png_pixels(together[seed].content), alone[seed]), seed
