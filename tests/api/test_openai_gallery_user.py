"""The gallery's `user` (OpenAI's end-user id): migration 0002 on SQLite and PostgreSQL, kept as given, nullable."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from genproto import generator_pb2, limits
from sqlalchemy import inspect, text

from api.gallery.database import MIGRATIONS, open_engine
from api.gallery.protocol import GalleryImage
from api.gallery.recording import new_image
from api.gallery.store import Gallery
from api.native.protocol import GenerateImageRequest
from tests.api.test_gallery_store import png


@pytest.fixture
def at_0001(database_url: str) -> Iterator[str]:
    """A database at revision 0001 (as a gateway before the column left it), with one row."""
    engine = open_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    assert "user" not in {c["name"] for c in inspect(engine).get_columns("images")}
    engine.dispose()
    yield database_url


def kept(user: str | None) -> object:
    reply = generator_pb2.GenerateImageResponse(image=png((1, 2, 3)), mime_type="image/png", width=64, height=64)
    return new_image("", GenerateImageRequest(positivePrompt="a fox"), reply, 0.1, user)


def test_the_migration_adds_a_nullable_user_and_the_gallery_keeps_it_as_given(at_0001: str, tmp_path: Path) -> None:
    gallery = Gallery.open(at_0001, tmp_path / "data")  # migrates to head
    try:
        given = "ünïcode end user/" + "x" * (limits.MAX_USER_CHARS - 17)
        with_user = gallery.save(kept(given))  # type: ignore[arg-type]
        without = gallery.save(kept(None))  # type: ignore[arg-type]
        rows = {row.id: GalleryImage.of(row) for row in gallery.page("", 10).rows}
        assert rows[with_user].user == given
        assert rows[without].user is None
        assert rows[with_user].model_dump(by_alias=True)["user"] == given
        with gallery.engine.connect() as connection:
            assert connection.execute(text('SELECT count(*) FROM images WHERE "user" IS NULL')).scalar() == 1
    finally:
        gallery.close()


def test_the_native_callers_keep_no_user() -> None:
    reply = generator_pb2.GenerateImageResponse(image=png((4, 5, 6)), mime_type="image/png")
    assert new_image("", GenerateImageRequest(positivePrompt="a fox"), reply, 0.1).values["user"] is None
