"""POST /generateimage/stream: the worker's generation events relayed as Server-Sent Events."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

import grpc
from genproto import generator_pb2
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.errors import describe_rpc_error
from api.native.protocol import GenerateImageRequest, StreamError
from api.native.serving import done_event, event_to_sse, sse_event, to_proto
from api.worker_client import WorkerClient
from api.worker_stream import WorkerStream

# A comment line this often keeps proxies from closing a stream that waits long in the queue.
PING_SECONDS = 15
# Keeps a request's images (the gallery) and answers each one's id, or None where one was not kept.
Keep = Callable[[list[generator_pb2.GenerateImageResponse]], Awaitable[list[str | None]]]


async def open_stream(worker: WorkerClient, body: GenerateImageRequest, keep: Keep) -> EventSourceResponse:
    """Start the worker's stream and wait for its first event, so a refusal (422, 429, 503) is a plain HTTP error."""
    stream = WorkerStream(worker, to_proto(body))
    await stream.first()
    return EventSourceResponse(_relay(stream, keep), ping=PING_SECONDS)


async def _relay(stream: WorkerStream, keep: Keep) -> AsyncIterator[ServerSentEvent]:
    """Events until done or error; when the client goes away sse-starlette cancels us and the call with us."""
    # A request's images arrive as one result each; its `done` event carries them all.
    results: list[generator_pb2.GenerateImageResponse] = []
    try:
        async with aclosing(stream.events()) as events:
            async for event in events:
                if event.HasField("result"):
                    results.append(event.result)
                else:
                    yield event_to_sse(event)
        if results:
            yield done_event(results, await keep(results))
    except grpc.aio.AioRpcError as error:
        failure = describe_rpc_error(stream.worker, error)
        refusal = StreamError(error=failure.code, message=failure.message, retry_after=failure.retry_after)
        yield sse_event("error", refusal)
