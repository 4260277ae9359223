"""AUTOMATIC1111's /sdapi/v1 on the real stack (demo model), through the real `webuiapi` client, unchanged."""

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import webuiapi
from PIL import Image

from scripts.devstack import Service, start_api, wait_until

# The smallest image the limits allow and few steps: fast on 2 CPU cores.
SMALL: dict[str, Any] = {"width": 64, "height": 64, "steps": 2}
# Long enough on 2 CPU cores to be watched and interrupted mid-way (it never runs to its end).
LONG: dict[str, Any] = {"width": 512, "height": 512, "steps": 150, "batch_size": 2, "n_iter": 4}
KEY, OTHER_KEY = "a1111-key-one-0123456789", "a1111-key-two-9876543210"


def client_for(port: int, user: str | None = None, key: str | None = None) -> webuiapi.WebUIApi:
    client = webuiapi.WebUIApi(host="127.0.0.1", port=port, sampler="Euler a", steps=2)
    if key is not None:
        client.set_auth(user, key)
    return client


@pytest.fixture
def sd(api: Service) -> webuiapi.WebUIApi:
    return client_for(api.port)


@pytest.fixture(scope="module")
def keyed(worker: Service) -> Iterator[Service]:
    """An api of this module's own with API keys on, in front of the shared worker."""
    service = start_api("a1111-keys", worker.port, API_KEYS=f"{KEY},{OTHER_KEY}")
    yield service
    service.stop()


def test_txt2img_makes_a_batch_with_seeds_seed_and_seed_plus_one(sd: webuiapi.WebUIApi) -> None:
    result = sd.txt2img(prompt="a lighthouse at dusk", negative_prompt="blurry", seed=1234, batch_size=2, **SMALL)
    assert len(result.images) == 2
    assert all(image.size == (64, 64) and image.format == "PNG" for image in result.images)
    info = result.info
    assert info["seed"] == 1234 and info["all_seeds"] == [1234, 1235]
    assert info["prompt"] == "a lighthouse at dusk" and info["all_prompts"] == ["a lighthouse at dusk"] * 2
    assert info["negative_prompt"] == "blurry"
    assert (info["width"], info["height"], info["steps"], info["batch_size"]) == (64, 64, 2, 2)
    assert info["sampler_name"] == "Euler a" and info["cfg_scale"] == 7
    assert info["sd_model_name"] and "sd_model_hash" in info and info["subseed"] == -1
    assert "Seed: 1234," in info["infotexts"][0] and "Seed: 1235," in info["infotexts"][1]
    # The infotext inside each file is the one info names.
    assert result.images[1].info["parameters"] == info["infotexts"][1]
    assert result.parameters["prompt"] == "a lighthouse at dusk" and result.parameters["batch_size"] == 2


def test_n_iter_batches_follow_on_from_a_random_seed(sd: webuiapi.WebUIApi) -> None:
    result = sd.txt2img(prompt="a red fox", seed=-1, batch_size=2, n_iter=2, **SMALL)
    first = result.info["seed"]
    assert result.info["all_seeds"] == [first, first + 1, first + 2, first + 3]
    assert len(result.images) == 4


def test_the_same_seed_makes_the_same_image(sd: webuiapi.WebUIApi) -> None:
    one = sd.txt2img(prompt="same", seed=77, **SMALL).image
    two = sd.txt2img(prompt="same", seed=76, batch_size=2, **SMALL).images[1]
    assert one.tobytes() == two.tobytes()


def test_img2img_with_a_mask(sd: webuiapi.WebUIApi) -> None:
    start = sd.txt2img(prompt="a meadow", seed=5, **SMALL).image
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    result = sd.img2img(
        images=[start], mask_image=mask, prompt="a pond", seed=9, denoising_strength=0.6, mask_blur=2, **SMALL
    )
    assert len(result.images) == 1 and result.image.size == (64, 64)
    assert result.info["all_seeds"] == [9] and result.info["denoising_strength"] == 0.6
    assert "Mask blur: 2" in result.info["infotexts"][0]
    assert result.parameters["init_images"] is None  # A1111 does not echo the inputs
    # Outside the mask (blur aside) the start image is kept; inverted, the middle is kept instead.
    corner = (2, 2)
    assert result.image.convert("RGB").getpixel(corner) == start.convert("RGB").getpixel(corner)
    inverted = sd.img2img(
        images=[start], mask_image=mask, inpainting_mask_invert=1, prompt="a pond", seed=9, mask_blur=0, **SMALL
    )
    middle = (32, 32)
    assert inverted.image.convert("RGB").getpixel(middle) == start.convert("RGB").getpixel(middle)


def test_png_info_reads_back_what_txt2img_wrote(sd: webuiapi.WebUIApi) -> None:
    made = sd.txt2img(prompt="a castle, misty", seed=4321, cfg_scale=6.5, **SMALL)
    read = sd.png_info(made.image)
    assert read.info == made.info["infotexts"][0]
    parameters = read.parameters
    assert parameters["Prompt"] == "a castle, misty" and parameters["Seed"] == "4321"
    assert (parameters["Size-1"], parameters["Size-2"]) == ("64", "64")
    assert parameters["Steps"] == "2" and parameters["CFG scale"] == "6.5" and parameters["Sampler"] == "Euler a"


def test_models_samplers_schedulers_loras_and_options(sd: webuiapi.WebUIApi) -> None:
    models = sd.get_sd_models()
    assert models and {"title", "model_name", "hash", "sha256", "filename", "config"} <= set(models[0])
    current = sd.util_get_current_model()
    assert current in [m["title"] for m in models]
    sd.util_set_model(current)  # by title, through POST /options
    assert sd.util_get_current_model() == current
    sd.set_options({"sd_model_checkpoint": models[0]["model_name"], "CLIP_stop_at_last_layers": 2})  # by name
    assert sd.util_get_current_model() == models[0]["title"]
    sd.util_set_model(current)  # the shared worker's default back as it was
    assert "Euler a" in sd.util_get_sampler_names() and "DPM++ 2M" in sd.util_get_sampler_names()
    assert {"automatic", "karras", "sgm_uniform"} <= set(sd.util_get_scheduler_names())
    assert isinstance(sd.get_loras(), list)
    assert sd.get_scripts() == {"txt2img": [], "img2img": []}
    # A model picked per request by its title.
    result = sd.txt2img(prompt="x", override_settings={"sd_model_checkpoint": models[0]["title"]}, **SMALL)
    assert result.info["sd_model_name"]


def test_an_unsupported_feature_is_refused_naming_it(sd: webuiapi.WebUIApi) -> None:
    with pytest.raises(RuntimeError) as refused:
        sd.txt2img(prompt="x", enable_hr=True, **SMALL)
    status, text = refused.value.args
    assert status == 422 and "enable_hr" in text and "hires fix" in text
    with pytest.raises(RuntimeError) as too_wide:
        sd.txt2img(prompt="x", width=63, height=64, steps=2)
    assert too_wide.value.args[0] == 422 and "width must be a multiple of 8 (got 63)" in too_wide.value.args[1]


def _running(client: webuiapi.WebUIApi, step: int = 1) -> Callable[[], bool]:
    def condition() -> bool:
        state = client.get_progress()["state"]
        return bool(state["job_count"] > 0 and state["sampling_step"] >= step)

    return condition


def test_progress_shows_the_running_job_and_interrupt_stops_it(sd: webuiapi.WebUIApi) -> None:
    assert sd.get_progress()["state"]["job_count"] == 0
    with ThreadPoolExecutor(1) as pool:
        job: Future[webuiapi.WebUIApiResult] = pool.submit(sd.txt2img, prompt="long", **LONG)
        # The worker sends a preview every few steps (WORKER_PREVIEW_EVERY_STEPS).
        wait_until(lambda: job.done() or _running(sd, step=6)(), 120, "the job past its first preview")
        progress = sd.get_progress()
        assert 0 < progress["progress"] < 1 and progress["eta_relative"] > 0
        assert progress["state"]["job_count"] == 4 and progress["state"]["sampling_steps"] == 150
        assert progress["current_image"]
        assert sd.interrupt() == {}
        result = job.result(timeout=60)
    # Interrupted in its first image: nothing finished, answered as an empty batch.
    assert result.images == [] and result.info["all_seeds"] == []
    assert sd.get_progress()["state"]["job_count"] == 0


def test_interrupt_stops_only_the_callers_own_job(keyed: Service) -> None:
    mine, theirs = client_for(keyed.port, "me", KEY), client_for(keyed.port, "them", OTHER_KEY)
    with ThreadPoolExecutor(2) as pool:
        my_job = pool.submit(mine.txt2img, prompt="mine", **LONG)
        wait_until(_running(mine), 120, "my job running")
        their_job = pool.submit(theirs.txt2img, prompt="theirs", **{**SMALL, "steps": 3, "seed": 8})
        wait_until(lambda: theirs.get_progress()["state"]["job_count"] > 0, 60, "their job registered")
        mine.interrupt()
        assert theirs.get_progress()["state"]["interrupted"] is False
        assert my_job.result(timeout=60).images == []
        # Their job (queued behind mine on the one worker) still runs to its end.
        done = their_job.result(timeout=120)
    assert len(done.images) == 1 and done.info["all_seeds"] == [8]


def test_basic_auth_with_the_key_as_password(keyed: Service) -> None:
    result = client_for(keyed.port, "anyone", KEY).txt2img(prompt="authorized", seed=3, **SMALL)
    assert result.info["all_seeds"] == [3]
    with pytest.raises(RuntimeError) as refused:
        client_for(keyed.port, "anyone", "not-a-key").txt2img(prompt="x", **SMALL)
    status, text = refused.value.args
    assert status == 401 and '"error":"unauthorized"' in text and '"detail"' in text


def test_skip_ends_the_current_batch_and_the_next_runs(sd: webuiapi.WebUIApi) -> None:
    body = {**LONG, "n_iter": 2, "batch_size": 1, "seed": 100}
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(sd.txt2img, prompt="skip", **body)
        wait_until(_running(sd), 120, "the job running")
        sd.skip()
        wait_until(lambda: job.done() or sd.get_progress()["state"]["job_no"] == 1, 60, "the second batch")
        sd.interrupt()
        result = job.result(timeout=60)
    assert result.images == []  # the first batch skipped, the second interrupted


def test_a_client_that_sends_no_auth_is_told_how(keyed: Service) -> None:
    # webuiapi without set_auth: the 401 is in this dialect's error shape.
    with pytest.raises(RuntimeError) as refused:
        client_for(keyed.port).txt2img(prompt="x", **SMALL)
    assert refused.value.args[0] == 401 and "Basic auth with the key as the password" in refused.value.args[1]
