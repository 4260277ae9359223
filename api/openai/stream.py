"""The worker's streamed generation read for OpenAI's answers: gathered whole, or relayed as its SSE events."""

import base64
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Final

import grpc
from genproto import generator_pb2
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.errors import describe_rpc_error
from api.native.stream import PING_SECONDS
from api.openai.protocol import CompletedEvent, ImageOptions, PartialImageEvent
from api.openai.serving import error_body, image_format
from api.worker_client import WorkerClient
from api.worker_stream import WorkerStream

log = logging.getLogger(__name__)
# Keeps one image in the gallery and answers its id (None: not kept).
Keep = Callable[[list[generator_pb2.GenerateImageResponse]], Awaitable[list[str | None]]]
# The SSE event names' prefixes: generations and edits name their events apart (the SDK's types).
GENERATION: Final = "image_generation"
EDIT: Final = "image_edit"


class PartialImages:
    """Which previews become partial images: up to `per_image` per image, spread evenly over its steps."""

    def __init__(self, per_image: int) -> None:
        self.per_image = per_image
        self._sent: Counter[int] = Counter()
        self._next = 0

    def take(self, progress: generator_pb2.Progress) -> int | None:
        """The partial_image_index this preview is sent as, or None when it is skipped.

        The k-th partial of an image is the first preview at or past k/(per_image+1) of its steps, so a few
        partials show the image at evenly spaced stages rather than the first few previews.
        """
        sent = self._sent[progress.image_index]
        if not progress.preview or sent >= self.per_image:
            return None
        if progress.step * (self.per_image + 1) < (sent + 1) * progress.total_steps:
            return None
        self._sent[progress.image_index] += 1
        index, self._next = self._next, self._next + 1
        return index


def _event(data: PartialImageEvent | CompletedEvent) -> ServerSentEvent:
    return ServerSentEvent(event=data.type, data=data.model_dump_json())


async def gather(
    worker: WorkerClient, request: generator_pb2.GenerateImageRequest
) -> list[generator_pb2.GenerateImageResponse]:
    """Every image of the request, for an answer that is not streamed (the unary call makes only one)."""
    return await WorkerStream(worker, request).results()


async def open_stream(
    worker: WorkerClient,
    request: generator_pb2.GenerateImageRequest,
    options: ImageOptions,
    prefix: str,
    keep: Keep,
) -> EventSourceResponse:
    """Start the generation and answer its events; a refusal before it starts is a plain HTTP error."""
    stream = WorkerStream(worker, request)
    await stream.first()
    return EventSourceResponse(_relay(stream, options, prefix, keep), ping=PING_SECONDS)


async def _relay(
    stream: WorkerStream, options: ImageOptions, prefix: str, keep: Keep
) -> AsyncIterator[ServerSentEvent]:
    """Partial images from the worker's previews, then `completed` per image; a failure is an `error` event."""
    partials = PartialImages(options.partial_images or 0)
    quality = options.quality or "auto"
    size = "auto"
    try:
        async with aclosing(stream.events()) as events:
            async for event in events:
                kind = event.WhichOneof("event")
                if kind == "started":
                    size = f"{event.started.width}x{event.started.height}"
                elif kind == "progress" and (index := partials.take(event.progress)) is not None:
                    preview = event.progress
                    yield _event(
                        PartialImageEvent(
                            type=f"{prefix}.partial_image",
                            b64_json=base64.b64encode(preview.preview).decode("ascii"),
                            created_at=int(time.time()),
                            size=size,
                            quality=quality,
                            # The preview's own format (the worker's small JPEG), so a client names its file right.
                            output_format="jpeg" if preview.preview_mime_type == "image/jpeg" else "png",
                            partial_image_index=index,
                        )
                    )
                elif kind == "result":
                    result = event.result
                    await keep([result])  # docs/architecture.md, section "Files before rows": kept, then answered
                    yield _event(
                        CompletedEvent(
                            type=f"{prefix}.completed",
                            b64_json=base64.b64encode(result.image).decode("ascii"),
                            created_at=int(time.time()),
                            size=f"{result.width}x{result.height}",
                            quality=quality,
                            output_format=image_format(result),
                        )
                    )
    except grpc.aio.AioRpcError as error:
        failure = describe_rpc_error(stream.worker, error)
        # The SDK raises an APIError for an event whose data has an `error` object.
        body = error_body(failure.status, failure.code, failure.message, None)
        yield ServerSentEvent(event="error", data=json.dumps(body))
