"""Cancel the generation when the HTTP client goes away: a GPU step spent on an image nobody reads is wasted."""

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request

log = logging.getLogger(__name__)
T = TypeVar("T")


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T | None:
    """Awaits work, or cancels it and answers None when the HTTP client goes away first.

    Cancelling the gRPC call cancels the RPC, so the worker stops that generation at its next step
    instead of spending the GPU on an image nobody will read (as vLLM's with_cancellation does).
    """
    work_task = asyncio.ensure_future(work)
    watch_task = asyncio.ensure_future(_until_disconnect(request))
    try:
        await asyncio.wait({work_task, watch_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch_task.cancel()
        if not work_task.done():  # the client left, or this handler itself was cancelled
            work_task.cancel()
            await asyncio.wait({work_task})
    if work_task.cancelled():
        log.info("client went away; cancelled its generation")
        return None
    return work_task.result()


async def _until_disconnect(request: Request) -> None:
    # The body is already read, so the next message is http.disconnect (or the response completing).
    while (await request.receive())["type"] != "http.disconnect":
        pass
