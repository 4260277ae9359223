"""The gallery's routes: list and search, one image's row, its file and thumbnail, star, delete."""

import asyncio
import json
from collections.abc import Callable
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from genproto import limits

from api.dependencies import require_json
from api.errors import ApiError
from api.gallery.protocol import DEFAULT_PAGE, MAX_PAGE, GalleryImage, GalleryPage, ImagePatch
from api.gallery.recording import owner_of
from api.gallery.store import BadCursor, Gallery
from api.gallery.tables import ImageRow
from api.openapi_docs import error_responses
from api.problems import ErrorCode

router = APIRouter(prefix="/images", tags=["gallery"])
# The file behind an id never changes (content-addressed); private: it is one key's image.
CACHE_FOREVER: Final = "private, max-age=31536000, immutable"
GALLERY_ERRORS: Final = error_responses(401, 404, 500)


def get_gallery(request: Request) -> Gallery:
    """The gallery the lifespan opened; 404 when API_GALLERY=false."""
    gallery: Gallery | None = request.app.state.gallery
    if gallery is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "the gallery is off on this gateway (API_GALLERY=false)")
    return gallery


Store = Annotated[Gallery, Depends(get_gallery)]
Owner = Annotated[str, Depends(owner_of)]


def _not_found(image_id: str) -> ApiError:
    # The same answer for another key's image as for one that never existed.
    return ApiError(404, ErrorCode.NOT_FOUND, f"no image {json.dumps(image_id[:40])} in this gallery")


async def _row(gallery: Gallery, owner: str, image_id: str) -> ImageRow:
    row = await asyncio.to_thread(gallery.get, owner, image_id)
    if row is None:
        raise _not_found(image_id)
    return row


async def _immutable(
    request: Request, etag: str, media_type: str, load: Callable[[], bytes], headers: dict[str, str] | None = None
) -> Response:
    """Bytes that never change behind their URL: 304 when the client holds them (If-None-Match), else loaded."""
    cached = {"ETag": etag, "Cache-Control": CACHE_FOREVER}
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=cached)
    data = await asyncio.to_thread(load)
    return Response(content=data, media_type=media_type, headers={**cached, **(headers or {})})


@router.get(
    "",
    response_model=GalleryPage,
    summary="List the gallery, newest first",
    responses=error_responses(401, 404, 422, 500),
)
async def list_images(
    gallery: Store,
    owner: Owner,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Images per page.")] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=200, description="The previous page's `next`.")] = None,
    q: Annotated[
        str, Query(max_length=limits.MAX_PROMPT_CHARS, description="Only images whose prompts contain this (any case).")
    ] = "",
    starred: Annotated[bool | None, Query(description="true: only starred; false: only unstarred.")] = None,
) -> GalleryPage:
    """This API key's images (or the shared gallery's), `limit` at a time; `next` is the cursor of the page after."""
    try:
        page = await asyncio.to_thread(gallery.page, owner, limit, cursor, q.strip(), starred)
    except BadCursor:
        shown = json.dumps(cursor[:40] if cursor else "")
        raise ApiError(422, ErrorCode.INVALID_VALUE, f"cursor must be a `next` of GET /images (got {shown})") from None
    return GalleryPage(images=[GalleryImage.of(row) for row in page.rows], next=page.next)


@router.get("/{image_id}", response_model=GalleryImage, summary="One image's parameters", responses=GALLERY_ERRORS)
async def get_image(image_id: str, gallery: Store, owner: Owner) -> GalleryImage:
    """The row: what was asked, what the worker used, and the file's size and hash."""
    return GalleryImage.of(await _row(gallery, owner, image_id))


@router.get(
    "/{image_id}/file",
    summary="The image's bytes, as answered",
    response_class=Response,
    responses={
        200: {"content": {mime: {} for mime in limits.MIME_TYPES.values()}},
        304: {"description": "Not modified."},
        **GALLERY_ERRORS,
    },
)
async def get_file(image_id: str, request: Request, gallery: Store, owner: Owner) -> Response:
    """Byte for byte what POST /generateimage answered, with its ETag (the SHA-256) and file name."""
    row = await _row(gallery, owner, image_id)
    disposition = {"Content-Disposition": f"inline; filename={row.filename}"}
    media_type = limits.MIME_TYPES[row.format]
    return await _immutable(request, f'"{row.sha256}"', media_type, gallery.file_path(row).read_bytes, disposition)


@router.get(
    "/{image_id}/thumbnail",
    summary="A WebP of the image, at most 256 pixels on a side",
    response_class=Response,
    responses={200: {"content": {"image/webp": {}}}, 304: {"description": "Not modified."}, **GALLERY_ERRORS},
)
async def get_thumbnail(image_id: str, request: Request, gallery: Store, owner: Owner) -> Response:
    """The grid's picture: small, made once per image."""
    row = await _row(gallery, owner, image_id)
    return await _immutable(request, f'"{row.sha256}-256"', "image/webp", lambda: gallery.thumbnail(row))


@router.patch(
    "/{image_id}",
    response_model=GalleryImage,
    summary="Star or unstar an image",
    dependencies=[Depends(require_json)],
    responses=error_responses(400, 401, 404, 415, 422, 500),
)
async def patch_image(image_id: str, body: ImagePatch, gallery: Store, owner: Owner) -> GalleryImage:
    """Starred images are kept by retention (API_GALLERY_MAX_IMAGES, API_GALLERY_MAX_BYTES)."""
    row = await asyncio.to_thread(gallery.set_starred, owner, image_id, body.starred)
    if row is None:
        raise _not_found(image_id)
    return GalleryImage.of(row)


@router.delete(
    "/{image_id}", status_code=204, response_class=Response, summary="Delete an image", responses=GALLERY_ERRORS
)
async def delete_image(image_id: str, gallery: Store, owner: Owner) -> Response:
    """The row and, once no other row shares its content, the file and thumbnail."""
    if not await asyncio.to_thread(gallery.delete, owner, image_id):
        raise _not_found(image_id)
    return Response(status_code=204)
