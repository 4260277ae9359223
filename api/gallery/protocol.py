"""The gallery's wire models: an image's row as JSON, a page of them, and the change PATCH makes."""

from datetime import UTC, datetime
from typing import Any, Final

from genproto import limits
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.gallery.tables import ImageRow
from api.native.protocol import LoraWeight

DEFAULT_PAGE: Final = 50
MAX_PAGE: Final = 100


class GalleryImage(BaseModel):
    """One kept image: the request's values, what the worker used, and where its file and thumbnail are."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: str = Field(description="Unguessable; the same as X-Image-Id and the stream's imageId.")
    created_at: datetime = Field(description="When the gateway kept it (UTC).")
    positive_prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    steps: int
    guidance_scale: float
    sampler: str
    schedule_type: str
    model: str
    model_hash: str | None = Field(description="A1111's short hash of the model; null when unknown.")
    demo_model: bool
    loras: list[LoraWeight]
    init_image: bool = Field(description="Made by image to image (the init image itself is not kept).")
    denoising_strength: float | None
    mask_blur: int | None
    format: limits.ImageFormat
    mime_type: str = Field(description="The file's media type (from `format`).")
    bytes: int = Field(description="Size of the file in bytes.")
    sha256: str = Field(description="The file's SHA-256 (hex), also its ETag.")
    filename: str
    generation_seconds: float = Field(description="Seconds the pipeline ran.")
    total_seconds: float = Field(description="Seconds from the gateway's receipt of the request to the answer.")
    worker: str
    infotext: str = Field(description="A1111's generation parameters, as written inside the file.")
    starred: bool
    image_index: int
    image_count: int
    request: dict[str, Any] = Field(description="The request's values as sent (without initImage and mask).")
    user: str | None = Field(
        default=None, description="The end user's id the client sent (OpenAI's `user`), as given; null when none."
    )
    file_url: str = Field(description="GET it for the image's bytes, as answered.")
    thumbnail_url: str = Field(description="GET it for a WebP at most 256 pixels on a side.")

    @classmethod
    def of(cls, row: ImageRow) -> "GalleryImage":
        """The JSON view of a row."""
        columns = {c.key: getattr(row, c.key) for c in ImageRow.__table__.columns if c.key in cls.model_fields}
        return cls(
            **columns,
            created_at=datetime.fromtimestamp(row.created_us / 1_000_000, UTC),
            mime_type=limits.MIME_TYPES[row.format],
            file_url=f"/images/{row.id}/file",
            thumbnail_url=f"/images/{row.id}/thumbnail",
        )


class GalleryPage(BaseModel):
    """GET /images' answer."""

    images: list[GalleryImage]
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class ImagePatch(BaseModel):
    """PATCH /images/{id}'s body."""

    model_config = ConfigDict(extra="forbid")

    starred: bool = Field(strict=True, description="Starred images are never removed by retention.")
