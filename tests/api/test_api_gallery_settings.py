"""The gallery's switches: API_GALLERY=false keeps nothing and says so; `save` never reaches the worker; the
database URL is never echoed; a failed write still answers the image."""

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.settings import ApiSettings
from tests.api.fakes import PNG, FakeWorker, post_json


def test_gallery_off_keeps_nothing_and_says_so(client: TestClient) -> None:
    response = post_json(client, '{"positivePrompt": "a lighthouse"}')
    assert response.status_code == 200 and "X-Image-Id" not in response.headers
    listed = client.get("/images")
    assert listed.status_code == 404
    assert listed.json() == {"error": "not_found", "message": "the gallery is off on this gateway (API_GALLERY=false)"}


def test_gallery_on_answers_an_id_and_save_never_reaches_the_worker(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(fake_worker.port, api_gallery=True, api_data_dir=tmp_path)
    kept = post_json(client, '{"positivePrompt": "kept"}')
    image_id = kept.headers["X-Image-Id"]
    assert client.get(f"/images/{image_id}/file").content == PNG
    skipped = post_json(client, '{"positivePrompt": "not kept", "save": false}')
    assert skipped.status_code == 200 and "X-Image-Id" not in skipped.headers
    assert [row["positivePrompt"] for row in client.get("/images").json()["images"]] == ["kept"]
    # `save` is the gateway's: the worker got the request (a proto with a `save` field could not be built).
    assert fake_worker.images.requests[-1].positive_prompt == "not kept"
    refused = post_json(client, '{"positivePrompt": "x", "save": "no"}')
    assert refused.status_code == 422 and "save" in refused.json()["message"]
    assert (tmp_path / "gallery.db").exists()


def test_a_failed_write_still_answers_the_image(
    fake_worker: FakeWorker, make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(fake_worker.port, api_gallery=True, api_data_dir=tmp_path)
    # The files cannot be written: a file where the images folder was (modes would not stop root).
    (tmp_path / "images").rename(tmp_path / "gone")
    (tmp_path / "images").write_text("not a folder")
    response = post_json(client, '{"positivePrompt": "the disk is unwritable"}')
    assert response.status_code == 200 and response.content == PNG
    assert "X-Image-Id" not in response.headers
    assert client.get("/images").json()["images"] == []


def test_a_bad_database_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        ApiSettings(_env_file=None, api_database_url="mysql://user:secret@host/db")  # type: ignore[call-arg]
    assert "postgresql://" in str(refused.value)


def test_ready_says_whether_the_gallery_is_on(client: TestClient) -> None:
    assert client.get("/ready").json()["gallery"] is False
