"""The gallery's store on SQLite and on a real PostgreSQL: paging, search, ownership, shared files, retention, sweep."""

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from genproto import generator_pb2
from PIL import Image

from api.gallery.files import digest
from api.gallery.recording import new_image
from api.gallery.store import BadCursor, Gallery, NewImage
from api.native.protocol import GenerateImageRequest


def _row_of(prompt: str, data: bytes, owner: str = "") -> NewImage:
    """What the serving layer keeps for a reply with these bytes (api.gallery.recording.new_image)."""
    reply = generator_pb2.GenerateImageResponse(image=data, mime_type="image/png", seed=1, width=64, height=64)
    return new_image(owner, GenerateImageRequest(positivePrompt=prompt), reply, total_seconds=0.1)


def png(colour: tuple[int, int, int], side: int = 64) -> bytes:
    """A small real PNG of one colour (distinct colours: distinct files)."""
    out = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(out, "PNG")
    return out.getvalue()


def image(prompt: str, colour: tuple[int, int, int], owner: str = "") -> NewImage:
    return _row_of(prompt, png(colour), owner)


@pytest.fixture
def open_gallery(database_url: str, tmp_path: Path) -> Iterator[object]:
    opened: list[Gallery] = []

    def open_(max_images: int = 0, max_bytes: int = 0) -> Gallery:
        gallery = Gallery.open(database_url, tmp_path / "data", max_images, max_bytes)
        opened.append(gallery)
        return gallery

    yield open_
    for gallery in opened:
        gallery.close()


def test_pages_newest_first_with_cursors_that_cover_every_image_once(open_gallery) -> None:
    gallery = open_gallery()
    ids = [gallery.save(image(f"picture {i}", (i, 0, 0))) for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        page = gallery.page("", 3, cursor)
        seen += [row.id for row in page.rows]
        if page.next is None:
            break
        cursor = page.next
    assert seen == ids[::-1]
    with pytest.raises(BadCursor):
        gallery.page("", 3, "not-a-cursor")


def test_search_is_a_case_insensitive_substring_and_wildcards_are_literal(open_gallery) -> None:
    gallery = open_gallery()
    fox = gallery.save(image("A Red Fox in snow", (1, 2, 3)))
    gallery.save(image("a lighthouse", (4, 5, 6)))
    percent = gallery.save(image("100% orange", (7, 8, 9)))
    assert [r.id for r in gallery.page("", 10, q="red fox").rows] == [fox]
    assert [r.id for r in gallery.page("", 10, q="%").rows] == [percent]
    assert gallery.page("", 10, q="_").rows == []


def test_another_owner_sees_nothing_and_cannot_star_or_delete(open_gallery) -> None:
    gallery = open_gallery()
    mine = gallery.save(image("mine", (1, 1, 1), owner="a" * 64))
    assert gallery.get("b" * 64, mine) is None
    assert gallery.page("b" * 64, 10).rows == []
    assert gallery.set_starred("b" * 64, mine, True) is None
    assert gallery.delete("b" * 64, mine) is False
    row = gallery.get("a" * 64, mine)
    assert row is not None and not row.starred


def test_identical_images_share_a_file_that_goes_with_the_last_row(open_gallery) -> None:
    gallery = open_gallery()
    first, second = gallery.save(image("same", (9, 9, 9))), gallery.save(image("same", (9, 9, 9)))
    row = gallery.get("", first)
    assert row is not None
    path = gallery.file_path(row)
    gallery.delete("", first)
    assert path.exists(), "another row still names the file"
    gallery.delete("", second)
    assert not path.exists()


def test_retention_removes_the_oldest_unstarred(open_gallery) -> None:
    gallery = open_gallery(max_images=3)
    oldest = gallery.save(image("oldest", (1, 0, 0)))
    gallery.set_starred("", oldest, True)
    ids = [gallery.save(image(f"n{i}", (2, i, 0))) for i in range(4)]
    gallery.enforce_retention()
    kept = {row.id for row in gallery.page("", 10).rows}
    assert kept == {oldest, ids[2], ids[3]}


def test_retention_by_bytes(open_gallery) -> None:
    size = len(png((0, 0, 1)))
    gallery = open_gallery(max_bytes=size * 2)
    ids = [gallery.save(image(f"b{i}", (0, 0, i + 1))) for i in range(4)]
    gallery.enforce_retention()
    assert {row.id for row in gallery.page("", 10).rows} == set(ids[2:])


def test_sweep_removes_old_files_without_a_row_and_keeps_the_rest(open_gallery) -> None:
    gallery = open_gallery()
    kept = gallery.get("", gallery.save(image("kept", (3, 3, 3))))
    assert kept is not None
    orphan_data = png((5, 5, 5))
    orphan = gallery.files.write_image(digest(orphan_data), "png", orphan_data)
    young = gallery.files.write_image(digest(png((6, 6, 6))), "png", png((6, 6, 6)))
    an_hour_ago = time.time() - 3600
    os.utime(orphan, (an_hour_ago, an_hour_ago))
    os.utime(gallery.file_path(kept), (an_hour_ago, an_hour_ago))
    assert gallery.sweep() == 1
    assert not orphan.exists()
    assert young.exists(), "a file younger than the grace may be another gateway's, its row not yet committed"
    assert gallery.file_path(kept).exists()


def test_thumbnail_is_a_webp_at_most_256_pixels(open_gallery) -> None:
    gallery = open_gallery()
    data = png((10, 20, 30), side=512)
    row = gallery.get("", gallery.save(_row_of("big", data)))
    assert row is not None
    with Image.open(io.BytesIO(gallery.thumbnail(row))) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) == 256
