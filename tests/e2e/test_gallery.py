"""The gallery through the real stack, on SQLite and on a real PostgreSQL: what is kept survives restarts and a
kill -9, files are the answers byte for byte, deletes and retention remove files too, keys see only their own."""

import hashlib
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from genproto.limits import EXTENSIONS

from api.gallery.files import FileStore
from scripts.devstack import Service, start_api
from tests.postgres import Cluster

pytestmark = pytest.mark.e2e

# Small and fast on the demo model: these tests are about what is kept, not what is drawn.
SMALL: dict[str, Any] = {"width": 64, "height": 64, "steps": 1}
KEYS = ("key-of-alice", "key-of-bob")


class Gateway:
    """An api process on one gallery (its data folder and database), restartable on the same gallery."""

    def __init__(self, name: str, worker: Service, database_url: str, **settings: str) -> None:
        self.name = name
        self.worker = worker
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"gallery-{name}-"))
        self.settings = {"API_DATA_DIR": str(self.data_dir), "API_DATABASE_URL": database_url, **settings}
        self.service = self._start()

    def _start(self) -> Service:
        return start_api(self.name, self.worker.port, **self.settings)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, timeout=120, headers=headers)

    def restart(self, *, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL: no shutdown code runs) and start again on the same gallery."""
        if kill:
            self.service.kill()
        else:
            self.service.stop()
        self.service = self._start()

    def stop(self) -> None:
        self.service.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def make_gateway(request: pytest.FixtureRequest, worker: Service) -> Iterator[Callable[..., Gateway]]:
    """Gateways in front of the shared worker, each on a fresh gallery of this module's backend."""
    started: list[Gateway] = []

    def make(name: str, **settings: str) -> Gateway:
        url = ""
        if request.param == "postgresql":
            cluster: Cluster = request.getfixturevalue("postgres")
            url = cluster.database()
        gateway = Gateway(f"{request.param}-{name}", worker, url, **settings)
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="module")
def gateway(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway("main")


def generate(client: httpx.Client, prompt: str, **values: Any) -> httpx.Response:
    response = client.post("/generateimage", json={"positivePrompt": prompt, **SMALL, **values})
    assert response.status_code == 200, response.text
    return response


def image_file(gateway: Gateway, row: dict[str, Any]) -> Path:
    """Where the gateway's own file store keeps a row's image."""
    return FileStore(gateway.data_dir).image_path(row["sha256"], EXTENSIONS[row["format"]])


def test_an_image_and_its_parameters_survive_a_restart_and_a_kill(gateway: Gateway) -> None:
    with gateway.client() as client:
        answer = generate(client, "a lighthouse kept across restarts", seed=4242, sampler="DPM++ 2M", format="webp")
        image_id = answer.headers["x-image-id"]
        row = client.get(f"/images/{image_id}").json()
    assert row["seed"] == 4242 and row["sampler"] == "DPM++ 2M" and row["format"] == "webp"
    assert row["positivePrompt"] == "a lighthouse kept across restarts"
    assert row["sha256"] == hashlib.sha256(answer.content).hexdigest() and row["bytes"] == len(answer.content)
    for kill in (False, True):
        gateway.restart(kill=kill)
        with gateway.client() as client:
            assert client.get(f"/images/{image_id}").json() == row
            file = client.get(f"/images/{image_id}/file")
            assert file.content == answer.content, "the file is the answer, byte for byte"
            assert file.headers["content-type"] == "image/webp"
            assert file.headers["etag"] == f'"{row["sha256"]}"' and "immutable" in file.headers["cache-control"]
            assert (
                client.get(f"/images/{image_id}/file", headers={"If-None-Match": file.headers["etag"]}).status_code
                == 304
            )
            thumbnail = client.get(f"/images/{image_id}/thumbnail")
            assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"


def test_eight_at_once_all_land_with_distinct_ids(gateway: Gateway) -> None:
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def one(seed: int) -> None:
        with gateway.client() as client:
            response = generate(client, "eight at once", seed=seed)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=one, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    ids = {response.headers["x-image-id"] for response in answers}
    assert len(answers) == 8 and len(ids) == 8
    with gateway.client() as client:
        listed = client.get("/images", params={"q": "eight at once", "limit": 100}).json()["images"]
    assert {row["id"] for row in listed} == ids
    assert sorted(row["seed"] for row in listed) == list(range(8))


def test_a_kill_during_writes_leaves_no_row_without_its_file(gateway: Gateway) -> None:
    answered: list[str] = []
    first = threading.Event()

    def one(seed: int) -> None:
        try:
            with gateway.client() as client:
                response = client.post(
                    "/generateimage", json={"positivePrompt": "killed mid-write", **SMALL, "seed": seed}
                )
        except httpx.TransportError:
            return  # the kill cut this one off
        if response.status_code == 200:
            answered.append(response.headers["x-image-id"])
            first.set()

    threads = [threading.Thread(target=one, args=(seed,)) for seed in range(100, 108)]
    for thread in threads:
        thread.start()
    assert first.wait(120), "no answer before the kill"
    gateway.service.kill()
    for thread in threads:
        thread.join(120)
    if gateway.settings["API_DATABASE_URL"] == "":
        database = sqlite3.connect(gateway.data_dir / "gallery.db")
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        database.close()
    gateway.restart()
    with gateway.client() as client:
        rows = client.get("/images", params={"q": "killed mid-write", "limit": 100}).json()["images"]
        assert set(answered) <= {row["id"] for row in rows}, "every image answered before the kill is kept"
        for row in rows:
            path = image_file(gateway, row)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
            assert client.get(row["fileUrl"]).status_code == 200


def test_delete_removes_the_row_and_the_file(gateway: Gateway) -> None:
    with gateway.client() as client:
        image_id = generate(client, "to be deleted", seed=77).headers["x-image-id"]
        row = client.get(f"/images/{image_id}").json()
        client.get(f"/images/{image_id}/thumbnail")
        assert image_file(gateway, row).exists()
        assert client.delete(f"/images/{image_id}").status_code == 204
        assert client.get(f"/images/{image_id}").status_code == 404
        assert client.get(f"/images/{image_id}/file").status_code == 404
        assert client.delete(f"/images/{image_id}").status_code == 404
    assert not image_file(gateway, row).exists()
    assert not FileStore(gateway.data_dir).thumbnail_path(row["sha256"]).exists()


def test_star_search_and_save_false(gateway: Gateway) -> None:
    with gateway.client() as client:
        starred = generate(client, "a STARRED orange fox", seed=1).headers["x-image-id"]
        generate(client, "a plain fox", seed=2)
        unsaved = generate(client, "never kept fox", seed=3, save=False)
        assert "x-image-id" not in unsaved.headers
        assert client.patch(f"/images/{starred}", json={"starred": True}).json()["starred"] is True
        found = client.get("/images", params={"q": "starred ORANGE"}).json()["images"]
        assert [row["id"] for row in found] == [starred]
        foxes = client.get("/images", params={"q": "fox"}).json()["images"]
        assert {row["positivePrompt"] for row in foxes} == {"a STARRED orange fox", "a plain fox"}
        only = client.get("/images", params={"q": "fox", "starred": "true"}).json()["images"]
        assert [row["id"] for row in only] == [starred]
        refused = client.patch(f"/images/{starred}", json={"starred": "yes"})
        assert refused.status_code == 422 and "starred" in refused.json()["message"]


def test_retention_removes_the_oldest_unstarred(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway("retention", API_GALLERY_MAX_IMAGES="3")
    with gateway.client() as client:
        ids = [generate(client, f"retained {i}", seed=i).headers["x-image-id"] for i in range(2)]
        client.patch(f"/images/{ids[0]}", json={"starred": True})
        ids += [generate(client, f"retained {i}", seed=i).headers["x-image-id"] for i in range(2, 5)]
        gateway.restart()  # retention also runs at start; it ran after each save too, in the background
    with gateway.client() as client:
        kept = [row["id"] for row in client.get("/images").json()["images"]]
    assert kept == [ids[4], ids[3], ids[0]], "the newest two and the starred oldest"


def test_keys_see_only_their_own_images(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway("keys", API_KEYS=",".join(KEYS))
    alice, bob = (gateway.client(key) for key in KEYS)
    with alice, bob:
        image_id = generate(alice, "alice's private picture").headers["x-image-id"]
        assert alice.get(f"/images/{image_id}").status_code == 200
        for path in (f"/images/{image_id}", f"/images/{image_id}/file", f"/images/{image_id}/thumbnail"):
            refused, missing = bob.get(path), bob.get(path.replace(image_id, "no-such-image-id-000"))
            assert refused.status_code == missing.status_code == 404
            assert refused.json()["error"] == missing.json()["error"] == "not_found"
        assert bob.get("/images").json()["images"] == []
        assert bob.patch(f"/images/{image_id}", json={"starred": True}).status_code == 404
        assert bob.delete(f"/images/{image_id}").status_code == 404
        assert alice.get(f"/images/{image_id}").json()["starred"] is False
        assert [row["id"] for row in alice.get("/images").json()["images"]] == [image_id]
    with gateway.client() as anonymous:
        assert anonymous.get("/images").status_code == 401


def test_the_sweep_removes_files_without_a_row(gateway: Gateway) -> None:
    orphan = gateway.data_dir / "images" / "ab" / ("ab" + "0" * 62 + ".png")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash between the file and its row")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    with gateway.client() as client:
        kept = client.get("/images", params={"limit": 1}).json()["images"]
    gateway.restart()
    assert not orphan.exists()
    for row in kept:
        assert image_file(gateway, row).exists()
