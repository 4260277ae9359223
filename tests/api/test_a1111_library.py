"""/sdapi/v1's lists, options, progress and interrupt against the fake worker, and the per-caller job registry."""

import pytest
from fastapi.testclient import TestClient
from genproto import samplers

from api.a1111.jobs import Job, Jobs


def test_sd_models_in_a1111s_shape(client: TestClient) -> None:
    assert client.get("/sdapi/v1/sd-models").json() == [
        {
            "title": "demo-shapes",
            "model_name": "demo-shapes",
            "hash": None,
            "sha256": None,
            "filename": "demo-shapes",
            "config": None,
        }
    ]


def test_options_hold_the_default_models_title_and_set_it(client: TestClient) -> None:
    assert client.get("/sdapi/v1/options").json()["sd_model_checkpoint"] == "demo-shapes"
    response = client.post("/sdapi/v1/options", json={"sd_model_checkpoint": "demo-shapes", "samples_format": "jpg"})
    assert response.status_code == 200 and response.json() is None
    refused = client.post("/sdapi/v1/options", json={"sd_model_checkpoint": "nope"})
    assert refused.status_code == 422
    assert (
        refused.json()["detail"]
        == 'sd_model_checkpoint "nope" is not in the model library (see GET /sdapi/v1/sd-models)'
    )


def test_samplers_schedulers_loras_and_scripts(client: TestClient) -> None:
    listed = client.get("/sdapi/v1/samplers").json()
    assert [s["name"] for s in listed] == list(samplers.NAMES)
    assert listed[0] == {"name": "DPM++ 2M", "aliases": ["k_dpmpp_2m"], "options": {"scheduler": "karras"}}
    names = [(s["name"], s["label"]) for s in client.get("/sdapi/v1/schedulers").json()]
    assert ("sgm_uniform", "SGM Uniform") in names and names[0] == ("automatic", "Automatic")
    assert client.get("/sdapi/v1/loras").json() == [
        {"name": "style/ink", "alias": "ink", "path": "loras/style/ink", "metadata": {}}
    ]
    assert client.get("/sdapi/v1/scripts").json() == {"txt2img": [], "img2img": []}
    assert client.get("/sdapi/v1/upscalers").json() == [] and client.get("/sdapi/v1/sd-vae").json() == []


def test_progress_idle_memory_and_ping(client: TestClient) -> None:
    progress = client.get("/sdapi/v1/progress").json()
    assert progress["progress"] == 0 and progress["state"]["job_count"] == 0 and progress["current_image"] is None
    assert client.post("/sdapi/v1/interrupt").json() == {} and client.post("/sdapi/v1/skip").json() == {}
    ram = client.get("/sdapi/v1/memory").json()["ram"]
    assert ram["total"] >= ram["free"] > 0
    assert client.get("/internal/ping").json() == {}


def test_interrupt_stops_only_the_callers_jobs() -> None:
    jobs = Jobs()
    mine, theirs = Job(batch_size=1, n_iter=2), Job(batch_size=1, n_iter=1)
    with jobs.running("key:mine", mine), jobs.running("key:theirs", theirs):
        assert jobs.stop("key:mine", skip=False) == 1
        assert mine.interrupted and not theirs.interrupted
        assert jobs.stop("key:theirs", skip=True) == 1 and theirs.skipped and not theirs.interrupted
    assert jobs.of("key:mine") == [] and jobs.stop("key:mine", skip=False) == 0


@pytest.mark.parametrize(
    ("iteration", "image_index", "step", "expected"), [(0, 0, 0, 0.0), (0, 1, 5, 0.375), (1, 1, 10, 1.0)]
)
def test_progress_counts_every_image_of_every_batch(
    iteration: int, image_index: int, step: int, expected: float
) -> None:
    job = Job(batch_size=2, n_iter=2, iteration=iteration, image_index=image_index, step=step, steps=10)
    assert job.progress == expected
