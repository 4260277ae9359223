"""The model library on the real stack: listing, per-request models, switching back, refusals, memory over switches."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from scripts.devstack import Service, start_api, start_worker, wait_until
from tests.e2e.images import png_pixels
from tests.e2e.library import corrupt_copy, tiny_sdxl_file, tiny_variant

SMALL: dict[str, Any] = {"positivePrompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 3, "seed": 11}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    tiny_variant(root / "variant", seed=1)
    (root / "styles").mkdir()
    tiny_variant(root / "styles" / "other", seed=2)
    tiny = tiny_sdxl_file(root / "tiny_sdxl.safetensors")
    corrupt_copy(tiny, root / "broken.safetensors")
    (root / "not-a-model.safetensors").write_bytes(b"\x00" * 32)
    return root


@pytest.fixture(scope="module")
def stack(library: Path) -> Iterator[tuple[Service, Service]]:
    worker = start_worker("library", WORKER_MODELS_DIR=str(library))
    api = start_api("library", worker.port)
    yield worker, api
    api.stop()
    worker.stop()


@pytest.fixture
def http(stack: tuple[Service, Service]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{stack[1].port}", timeout=300) as client:
        yield client


def generate(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/generateimage", json={**SMALL, **body})


def models(http: httpx.Client) -> dict[str, dict[str, Any]]:
    response = http.get("/models")
    assert response.status_code == 200, response.text
    return {m["name"]: m for m in response.json()}


def test_the_library_lists_folders_files_and_the_demo(http: httpx.Client) -> None:
    listed = models(http)
    # A cut-short file and one that is no safetensors fail the start-up checks: not listed (the log says why).
    assert set(listed) == {"demo-shapes", "variant", "styles/other", "tiny_sdxl"}
    assert listed["demo-shapes"]["demo"] and listed["demo-shapes"]["default"]
    assert listed["demo-shapes"]["loaded"]
    assert listed["variant"]["kind"] == "folder" and listed["tiny_sdxl"]["kind"] == "file"
    # Hashes come from a background thread: the list answers at once, and the hash follows.
    wait_until(lambda: models(http)["tiny_sdxl"]["hash"] is not None, 60, "the file's hash")
    tiny = models(http)["tiny_sdxl"]
    assert len(tiny["hash"]) == 10 and tiny["title"] == f"tiny_sdxl [{tiny['hash']}]"
    # The gallery keeps the model that made an image; a folder model has no A1111 hash.
    folder = generate(http, model="variant")
    kept = http.get(f"/images/{folder.headers['x-image-id']}").json()
    assert (kept["model"], kept["modelHash"]) == ("variant", None)


def test_a_request_chooses_its_model_and_switching_back_gives_the_same_pixels(http: httpx.Client) -> None:
    before = generate(http)
    assert before.headers["x-model"] == "demo-shapes"
    variant = generate(http, model="variant")
    assert variant.status_code == 200, variant.text
    assert variant.headers["x-model"] == "variant"
    assert not np.array_equal(png_pixels(variant.content), png_pixels(before.content))
    assert models(http)["variant"]["loaded"] and not models(http)["demo-shapes"]["loaded"]
    assert generate(http, model="styles/other").headers["x-model"] == "styles/other"
    assert generate(http).content == before.content


@pytest.mark.parametrize(
    "name", ["nope", "../variant", "/etc/passwd", "variant/../variant", "not-a-model", "broken", "broken.safetensors"]
)
def test_a_name_not_in_the_library_is_a_422_naming_it(http: httpx.Client, name: str) -> None:
    response = generate(http, model=name)
    assert response.status_code == 422
    assert response.json()["message"] == (
        f'model "{name}" is not in the model library (see ListModels, GET /models over HTTP)'
    )


def test_a_model_that_cannot_load_is_refused_and_the_worker_keeps_serving(http: httpx.Client) -> None:
    # Its keys are SDXL's, its shapes a toy's: the load into SDXL's architecture fails.
    name = "tiny_sdxl"
    response = generate(http, model=name)
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith(f"model '{name}' could not be loaded: ")
    assert generate(http).status_code == 200
    assert generate(http, model="variant").status_code == 200


def test_the_default_model_can_be_changed_and_back(http: httpx.Client) -> None:
    response = http.put("/models/default", json={"name": "variant"})
    assert response.status_code == 200, response.text
    assert next(m for m in response.json() if m["default"])["name"] == "variant"
    try:
        assert generate(http).headers["x-model"] == "variant"
        assert http.get("/ready").json()["model"] == "variant"
    finally:
        http.put("/models/default", json={"name": "demo-shapes"}).raise_for_status()
    assert http.put("/models/default", json={"name": "../x"}).status_code == 422


def test_refresh_finds_a_new_model(http: httpx.Client, library: Path) -> None:
    tiny_variant(library / "added", seed=3)
    assert "added" not in models(http)
    refreshed = http.post("/models/refresh")
    assert refreshed.status_code == 200
    assert "added" in {m["name"] for m in refreshed.json()}
    assert generate(http, model="added").headers["x-model"] == "added"


def test_memory_stays_flat_over_ten_switches(http: httpx.Client, stack: tuple[Service, Service]) -> None:
    worker = stack[0]
    for model in ("variant", "demo-shapes"):  # both loaded once: allocator pools and caches warmed
        assert generate(http, model=model).status_code == 200
    start = worker.rss_mib()
    for _ in range(5):
        for model in ("variant", "demo-shapes"):
            assert generate(http, model=model).status_code == 200
    end = worker.rss_mib()
    print(f"worker RSS over 10 switches: {start:.0f} MiB -> {end:.0f} MiB")
    # One tiny model is a few MiB; a leak of one per switch would add ten of them.
    assert end - start < 30, (start, end)
