"""/sdapi/v1 against the fake worker: A1111's bodies as webuiapi sends them, mapped onto the one internal request."""

import base64
import io
from pathlib import Path
from typing import Any

import grpc
import pytest
import webuiapi
from fastapi.testclient import TestClient
from genproto import generator_pb2, limits
from PIL import Image

from api.a1111.protocol import IMG2IMG_UNSUPPORTED, TXT2IMG_UNSUPPORTED
from tests.api.fakes import FakeWorker, LiveApi, reply_for

SMALL: dict[str, Any] = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2}


def png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def real_png_reply(request: generator_pb2.GenerateImageRequest) -> generator_pb2.GenerateImageResponse:
    """The fake worker's answer with a PNG Pillow opens (webuiapi decodes every image)."""
    reply = reply_for(request)
    buffer = io.BytesIO()
    Image.new("RGB", (reply.width, reply.height)).save(buffer, format="PNG")
    reply.image = buffer.getvalue()
    return reply


def refusal(response: Any, status: int = 422) -> str:
    """The A1111-shaped error body's message, after checking its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail", "body", "errors"} and body["detail"] == body["errors"]
    assert isinstance(body["detail"], str)
    return body["detail"]


@pytest.fixture
def sd(live_api: LiveApi) -> webuiapi.WebUIApi:
    port = int(live_api.url.rsplit(":", 1)[1])
    return webuiapi.WebUIApi(host="127.0.0.1", port=port)


def test_webuiapis_whole_txt2img_body_is_accepted_and_mapped(sd: webuiapi.WebUIApi, fake_worker: FakeWorker) -> None:
    # webuiapi's own defaults for ~50 fields (enable_hr false, hr_*, eta 1, s_*, styles [], ...) all pass.
    fake_worker.images.reply = real_png_reply
    result = sd.txt2img(
        prompt="a fox",
        negative_prompt="blurry",
        seed=40,
        batch_size=3,
        cfg_scale=6.5,
        width=64,
        height=128,
        steps=3,
        sampler_name="DPM++ 2M",
        scheduler="karras",
    )
    (sent,) = fake_worker.images.requests
    assert (sent.positive_prompt, sent.negative_prompt) == ("a fox", "blurry")
    assert (sent.seed, sent.count, sent.width, sent.height, sent.steps) == (40, 3, 64, 128, 3)
    assert (sent.guidance_scale, sent.sampler, sent.schedule_type) == (6.5, "DPM++ 2M", "Karras")
    assert not sent.HasField("model")  # no override: the worker's default model
    assert len(result.images) == 1  # the fake worker answers one result per stream
    assert result.info["seed"] == 40 and result.info["batch_size"] == 3


def test_n_iter_sends_one_batch_after_another_with_seeds_following_on(
    client: TestClient, fake_worker: FakeWorker
) -> None:
    response = client.post("/sdapi/v1/txt2img", json={**SMALL, "seed": 10, "batch_size": 2, "n_iter": 3})
    assert response.status_code == 200, response.text
    assert [(r.seed, r.count) for r in fake_worker.images.requests] == [(10, 2), (12, 2), (14, 2)]


def test_a_random_seed_over_several_batches_is_drawn_once(client: TestClient, fake_worker: FakeWorker) -> None:
    assert client.post("/sdapi/v1/txt2img", json={**SMALL, "seed": -1, "n_iter": 3}).status_code == 200
    seeds = [r.seed for r in fake_worker.images.requests]
    assert seeds == [seeds[0], seeds[0] + 1, seeds[0] + 2]
    # One batch: the worker draws it (the request leaves it unset).
    assert client.post("/sdapi/v1/txt2img", json={**SMALL, "seed": -1}).status_code == 200
    assert not fake_worker.images.requests[-1].HasField("seed")


def test_sampler_index_is_the_sampler_without_sampler_name(client: TestClient, fake_worker: FakeWorker) -> None:
    assert client.post("/sdapi/v1/txt2img", json={**SMALL, "sampler_index": "Euler a"}).status_code == 200
    assert fake_worker.images.requests[-1].sampler == "Euler a"
    message = refusal(client.post("/sdapi/v1/txt2img", json={**SMALL, "sampler_index": "nope"}))
    assert message.startswith("sampler_index must be one of 'DPM++ 2M'")


def test_override_settings_picks_the_model_by_title_or_name(client: TestClient, fake_worker: FakeWorker) -> None:
    for name in ("demo-shapes", "demo-shapes [0123456789]", "demo-shapes.safetensors"):
        body = {**SMALL, "override_settings": {"sd_model_checkpoint": name, "CLIP_stop_at_last_layers": 2}}
        assert client.post("/sdapi/v1/txt2img", json=body).status_code == 200
        assert fake_worker.images.requests[-1].model == "demo-shapes"
    body = {**SMALL, "override_settings": {"sd_model_checkpoint": "sd_xl_base_1.0 [31e35c80fc]"}}
    message = refusal(client.post("/sdapi/v1/txt2img", json=body))
    assert message == (
        'override_settings.sd_model_checkpoint "sd_xl_base_1.0 [31e35c80fc]" is not in the model library '
        "(see GET /sdapi/v1/sd-models)"
    )


def test_img2img_maps_the_init_image_mask_and_a1111s_codes(client: TestClient, fake_worker: FakeWorker) -> None:
    init = Image.new("RGB", (64, 64), (200, 10, 10))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    body = {
        **SMALL,
        "init_images": ["data:image/png;base64," + png(init)],
        "mask": png(mask),
        "denoising_strength": 0.4,
        "mask_blur": 8,
        "resize_mode": 1,
        "inpainting_fill": 2,
    }
    response = client.post("/sdapi/v1/img2img", json=body)
    assert response.status_code == 200, response.text
    sent = fake_worker.images.requests[-1]
    assert Image.open(io.BytesIO(sent.init_image)).getpixel((0, 0)) == (200, 10, 10)
    assert Image.open(io.BytesIO(sent.mask)).getpixel((0, 0)) == 255
    assert (sent.denoising_strength, sent.mask_blur) == (0.4, 8)
    assert (sent.resize_mode, sent.inpainting_fill) == ("crop and resize", "latent noise")
    assert response.json()["parameters"]["init_images"] is None


def test_inpainting_mask_invert_swaps_the_mask(client: TestClient, fake_worker: FakeWorker) -> None:
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    body = {**SMALL, "init_images": [png(Image.new("RGB", (64, 64)))], "mask": png(mask), "inpainting_mask_invert": 1}
    assert client.post("/sdapi/v1/img2img", json=body).status_code == 200
    sent = Image.open(io.BytesIO(fake_worker.images.requests[-1].mask))
    assert (sent.getpixel((0, 0)), sent.getpixel((63, 0))) == (0, 255)


def test_include_init_images_answers_them_after_the_generated_ones(client: TestClient) -> None:
    init = png(Image.new("RGB", (64, 64)))
    body = {**SMALL, "init_images": [init], "include_init_images": True}
    assert client.post("/sdapi/v1/img2img", json=body).json()["images"][1:] == [init]


def test_send_images_false_answers_no_images(client: TestClient) -> None:
    answer = client.post("/sdapi/v1/txt2img", json={**SMALL, "send_images": False}).json()
    assert answer["images"] == [] and answer["info"]


def test_the_images_land_in_the_gallery_unless_do_not_save_samples(
    fake_worker: FakeWorker, make_client: Any, tmp_path: Path
) -> None:
    client = make_client(fake_worker.port, api_gallery=True, api_data_dir=tmp_path)
    assert client.post("/sdapi/v1/txt2img", json={**SMALL, "prompt": "kept", "n_iter": 2}).status_code == 200
    assert client.post("/sdapi/v1/txt2img", json={**SMALL, "prompt": "not kept", "do_not_save_samples": True})
    rows = client.get("/images").json()["images"]
    assert sorted((row["positivePrompt"], row["seed"]) for row in rows)[0][0] == "kept" and len(rows) == 2


OFF_VALUES: dict[str, Any] = {
    "enable_hr": True,
    "restore_faces": True,
    "tiling": True,
    "styles": ["my style"],
    "subseed_strength": 0.5,
    "seed_resize_from_h": 512,
    "seed_resize_from_w": 512,
    "eta": 0.3,
    "s_min_uncond": 0.1,
    "s_churn": 0.2,
    "s_tmax": 1.0,
    "s_tmin": 0.1,
    "s_noise": 1.01,
    "script_name": "x/y/z plot",
    "disable_extra_networks": True,
    "refiner_checkpoint": "refiner [abc]",
    "infotext": "a cat\nSteps: 20, Sampler: Euler, Seed: 1",
    "firstpass_image": "AAAA",
    "initial_noise_multiplier": 1.5,
    "latent_mask": "AAAA",
}


@pytest.mark.parametrize("field", sorted(TXT2IMG_UNSUPPORTED))
def test_an_unsupported_txt2img_feature_turned_on_is_refused_naming_it(client: TestClient, field: str) -> None:
    message = refusal(client.post("/sdapi/v1/txt2img", json={**SMALL, field: OFF_VALUES[field]}))
    assert message.startswith(f"{field} is not supported here ({TXT2IMG_UNSUPPORTED[field][1]}")


@pytest.mark.parametrize("field", sorted(set(IMG2IMG_UNSUPPORTED) - set(TXT2IMG_UNSUPPORTED)))
def test_an_unsupported_img2img_feature_turned_on_is_refused_naming_it(client: TestClient, field: str) -> None:
    body = {**SMALL, "init_images": [png(Image.new("RGB", (64, 64)))], field: OFF_VALUES[field]}
    assert refusal(client.post("/sdapi/v1/img2img", json=body)).startswith(f"{field} is not supported here")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"alwayson_scripts": {"ControlNet": {"args": [{"enabled": True}]}}}, "alwayson_scripts.ControlNet is not"),
        ({"init_images": ["AAAA", "AAAA"]}, "init_images is not supported here (one init image per request"),
        ({"inpainting_fill": 3}, "inpainting_fill is not supported here (it takes '0', '1' or '2'; got 3)"),
        ({"resize_mode": 3}, "resize_mode is not supported here (it takes '0', '1' or '2'; got 3)"),
    ],
)
def test_unsupported_modes_are_refused_naming_them(client: TestClient, body: dict[str, Any], message: str) -> None:
    full = {**SMALL, "init_images": [png(Image.new("RGB", (64, 64)))], **body}
    assert refusal(client.post("/sdapi/v1/img2img", json=full)).startswith(message)


def test_disabled_extension_scripts_are_accepted(client: TestClient) -> None:
    scripts = {"ControlNet": {"args": []}, "ADetailer": {"args": [False]}}
    assert client.post("/sdapi/v1/txt2img", json={**SMALL, "alwayson_scripts": scripts}).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cfg_scale": 31}, "cfg_scale must be at most 30 (got 31)"),
        ({"width": 63}, "width must be a multiple of 8 (got 63)"),
        ({"batch_size": 9}, f"batch_size must be at most {limits.MAX_COUNT} (got 9)"),
        ({"prompt": "  "}, "prompt must not be blank"),
        ({"steps": "20"}, 'steps must be an integer (got "20")'),
        ({"sampler_name": "DDIM", "scheduler": "karras"}, "scheduler 'Karras' does not apply to the sampler 'DDIM'"),
        ({"scheduler": "polyexponential"}, "scheduler must be one of 'Automatic'"),
        ({"n_iter": 0}, "n_iter must be at least 1 (got 0)"),
        (
            {"seed": limits.MAX_SEED - 2, "batch_size": 2, "n_iter": 2},
            f"seed + batch_size * n_iter - 1 must be at most {limits.MAX_SEED}",
        ),
    ],
)
def test_a_bad_value_is_a_422_naming_the_a1111_field(client: TestClient, body: dict[str, Any], message: str) -> None:
    response = client.post("/sdapi/v1/txt2img", json={**SMALL, **body})
    assert refusal(response).startswith(message)
    assert response.json()["error"] == "invalid_value"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"denoising_strength": 0}, "denoising_strength must be more than 0 and at most 1 (got 0)"),
        ({"init_images": ["not base64!"]}, "init_images must be base64 or a data: URL"),
        ({"init_images": [None]}, "init_images must hold a base64 string (got null)"),
        ({"mask_blur": 65}, "mask_blur must be at most 64 (got 65)"),
    ],
)
def test_a_bad_img2img_value_names_the_a1111_field(client: TestClient, body: dict[str, Any], message: str) -> None:
    full = {**SMALL, "init_images": [png(Image.new("RGB", (64, 64)))], **body}
    assert refusal(client.post("/sdapi/v1/img2img", json=full)).startswith(message)


def test_unknown_fields_are_ignored_as_a1111_does(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    assert client.post("/sdapi/v1/txt2img", json={**SMALL, "distilled_cfg_scale": 3.5}).status_code == 200
    assert "ignored unknown fields distilled_cfg_scale" in caplog.text


def test_framework_errors_under_sdapi_come_in_a1111s_shape(client: TestClient) -> None:
    assert refusal(client.get("/sdapi/v1/nope"), 404) == "there is no /sdapi/v1/nope; see /docs for the endpoints"
    as_json = {"Content-Type": "application/json"}
    assert refusal(client.post("/sdapi/v1/txt2img", content=b"{", headers=as_json), 400).startswith(
        "the request body is not valid"
    )
    assert refusal(client.post("/sdapi/v1/txt2img", content=b"{}"), 415).startswith("Content-Type must be")
    assert refusal(client.post("/sdapi/v1/txt2img", json={}), 422) == "prompt is required"


def test_a_worker_refusal_comes_in_a1111s_shape(client: TestClient, fake_worker: FakeWorker) -> None:
    fake_worker.images.error = (grpc.StatusCode.RESOURCE_EXHAUSTED, "the queue is full (16 waiting)")
    fake_worker.images.trailing = (("error-reason", "queue_full"), ("retry-after", "7"))
    response = client.post("/sdapi/v1/txt2img", json=SMALL)
    assert refusal(response, 429) == "the queue is full (16 waiting)" and response.headers["retry-after"] == "7"


def test_keys_on_the_401_is_in_a1111s_shape(fake_worker: FakeWorker, make_client: Any) -> None:
    keyed = make_client(fake_worker.port, api_keys="a-key-for-a1111-clients")
    assert refusal(keyed.get("/sdapi/v1/sd-models"), 401).startswith("a valid API key is required")
    basic = base64.b64encode(b"user:a-key-for-a1111-clients").decode()
    assert keyed.get("/sdapi/v1/sd-models", headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_an_img2img_body_with_an_image_gets_the_image_limit(fake_worker: FakeWorker, make_client: Any) -> None:
    small = make_client(fake_worker.port, api_max_body_bytes=20_000, api_max_image_body_bytes=2_000_000)
    noise = Image.effect_noise((128, 128), 64).convert("RGB")  # a PNG of ~40 kB, past the plain limit
    body = {**SMALL, "init_images": [png(noise)]}
    assert small.post("/sdapi/v1/img2img", json=body).status_code == 200
    padded = {**SMALL, "negative_prompt": "x" * 1999, "comments": {"pad": "x" * 30_000}}
    assert refusal(small.post("/sdapi/v1/txt2img", json=padded), 413).startswith("the request body must be at most")
