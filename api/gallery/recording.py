"""The hook the serving layer calls after a successful answer: keep each image in the gallery, say its id."""

import asyncio
import logging
import time

from fastapi import Request
from genproto import generator_pb2, limits

from api.auth import KEY_ID
from api.gallery.store import Gallery, NewImage
from api.native.protocol import GATEWAY_FIELDS, GenerateImageRequest
from api.native.serving import safe_filename

log = logging.getLogger(__name__)
# The one shared gallery's owner while API keys are off.
SHARED: str = ""


def owner_of(request: Request) -> str:
    """Whose images these are: the API key's SHA-256 (hex) as auth identified it, or the shared gallery."""
    key_id: str | None = request.scope.get("state", {}).get(KEY_ID)
    return key_id or SHARED


def new_image(
    owner: str,
    body: GenerateImageRequest,
    reply: generator_pb2.GenerateImageResponse,
    total_seconds: float,
    user: str | None = None,
) -> NewImage:
    """The row's values: the request as sent, what the worker used (its reply), and the client's end user."""
    values = {
        "positive_prompt": body.positive_prompt,
        "negative_prompt": body.negative_prompt,
        "seed": reply.seed,
        "width": reply.width,
        "height": reply.height,
        "steps": reply.steps,
        "guidance_scale": reply.guidance_scale,
        "sampler": reply.sampler,
        "schedule_type": reply.schedule_type,
        "model": reply.model_name,
        "model_hash": reply.model_hash or None,
        "demo_model": reply.demo_model,
        "loras": [{"name": lora.name, "weight": lora.weight} for lora in reply.loras],
        "init_image": body.init_image is not None,
        "denoising_strength": reply.denoising_strength or None,
        "mask_blur": reply.mask_blur if reply.denoising_strength else None,
        # The name the answer's Content-Disposition gave, so the file comes back under the same one.
        "filename": safe_filename(reply.filename_hint),
        "generation_seconds": reply.generation_seconds,
        "total_seconds": round(total_seconds, 4),
        "worker": reply.worker_id,
        "infotext": reply.infotext,
        "image_index": reply.image_index,
        "image_count": reply.image_count or 1,
        "request": body.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"init_image", "mask", *GATEWAY_FIELDS}
        ),
        "user": user,
    }
    image_format = limits.FORMAT_OF_MIME_TYPE.get(reply.mime_type, limits.DEFAULT_FORMAT)
    return NewImage(owner=owner, data=reply.image, format=image_format, values=values)


async def keep(
    request: Request,
    body: GenerateImageRequest,
    replies: list[generator_pb2.GenerateImageResponse],
    started: float,
    user: str | None = None,
) -> list[str | None]:
    """Each image's gallery id, in order; None for all when the gallery is off or the request said save: false.

    `user` is the client's id of its end user (OpenAI's `user`), kept as given.

    A failed write is logged and answered without an id: the client still gets the image it waited for.
    """
    gallery: Gallery | None = request.app.state.gallery
    if gallery is None or body.save is False:
        return [None] * len(replies)
    owner = owner_of(request)
    total = time.perf_counter() - started
    ids: list[str | None] = []
    for reply in replies:
        try:
            ids.append(await asyncio.to_thread(gallery.save, new_image(owner, body, reply, total, user)))
        except Exception:
            log.exception("could not keep the image in the gallery (answered without an X-Image-Id)")
            ids.append(None)
    return ids
