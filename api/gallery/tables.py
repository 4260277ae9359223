"""The gallery's one table, as SQLAlchemy maps it; its migrations are in migrations/versions/."""

from typing import Any

from genproto.limits import MAX_USER_CHARS, ImageFormat
from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The gallery's metadata (Alembic's target)."""


class ImageRow(Base):
    """One kept image: what was asked, what the worker used, and where its file is (by content)."""

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The SHA-256 (hex) of the API key that made it; "" when keys are off (one shared gallery). Never the key.
    owner: Mapped[str] = mapped_column(String(64))
    # Microseconds since the epoch, UTC: one integer orders alike in SQLite and PostgreSQL.
    created_us: Mapped[int] = mapped_column(BigInteger)
    positive_prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    steps: Mapped[int] = mapped_column(Integer)
    guidance_scale: Mapped[float] = mapped_column(Float)
    sampler: Mapped[str] = mapped_column(String(64))
    schedule_type: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(Text)
    model_hash: Mapped[str | None] = mapped_column(String(64))
    demo_model: Mapped[bool] = mapped_column(Boolean)
    loras: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    init_image: Mapped[bool] = mapped_column(Boolean)
    denoising_strength: Mapped[float | None] = mapped_column(Float)
    mask_blur: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[ImageFormat] = mapped_column(String(8))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(Text)
    generation_seconds: Mapped[float] = mapped_column(Float)
    total_seconds: Mapped[float] = mapped_column(Float)
    worker: Mapped[str] = mapped_column(Text)
    infotext: Mapped[str] = mapped_column(Text)
    starred: Mapped[bool] = mapped_column(Boolean, default=False)
    image_index: Mapped[int] = mapped_column(Integer)
    image_count: Mapped[int] = mapped_column(Integer)
    # The request's values as the client sent them (init image and mask left out: their bytes are not kept).
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The client's opaque id of its end user (OpenAI's `user`), stored as given; None when it sent none.
    user: Mapped[str | None] = mapped_column(String(MAX_USER_CHARS), default=None)

    __table_args__ = (
        Index("ix_images_owner_created", "owner", "created_us", "id"),
        Index("ix_images_sha256", "sha256"),
        Index("ix_images_retention", "starred", "created_us"),
    )
