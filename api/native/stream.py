"""POST /generateimage/stream: the worker's generation events relayed as Server-Sent Events."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
from genproto import generator_pb2
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.errors import describe_rpc_error
from api.native.protocol import GenerateImageRequest, StreamError
from api.native.serving import done_event, event_to_sse, sse_event, to_proto
from api.worker_client import WorkerClient

log = logging.getLogger(__name__)
StreamCall = grpc.aio.UnaryStreamCall[generator_pb2.GenerateImageRequest, generator_pb2.GenerateImageEvent]
# A comment line this often keeps proxies from closing a stream that waits long in the queue.
PING_SECONDS = 15
# How often a job that lost its worker while queued is sent again (each time to the next worker).
MAX_RESENDS = 2
# Keeps a request's images (the gallery) and answers each one's id, or None where one was not kept.
Keep = Callable[[list[generator_pb2.GenerateImageResponse]], Awaitable[list[str | None]]]


async def open_stream(worker: WorkerClient, body: GenerateImageRequest, keep: Keep) -> EventSourceResponse:
    """Start the worker's stream and wait for its first event, so a refusal (422, 429, 503) is a plain HTTP error."""
    request = to_proto(body)
    call = worker.generate_stream(request)
    try:
        # A refusal ends the call before its first event: AioRpcError goes to the one error table.
        first = await call.read()
    except BaseException:
        call.cancel()
        raise
    if not isinstance(first, generator_pb2.GenerateImageEvent):  # grpc.aio.EOF
        call.cancel()
        raise RuntimeError("the worker ended the stream without an event")
    return EventSourceResponse(_relay(worker, request, call, first, keep), ping=PING_SECONDS)


async def _relay(
    worker: WorkerClient,
    request: generator_pb2.GenerateImageRequest,
    call: StreamCall,
    first: generator_pb2.GenerateImageEvent,
    keep: Keep,
) -> AsyncIterator[ServerSentEvent]:
    """Events until done or error; when the client goes away sse-starlette cancels us and the call with us."""
    # The first `queued` event commits the call, so gRPC's retry policy no longer covers it: a worker that dies
    # (UNAVAILABLE) while the job still waits in its queue would fail a job that never ran. Such a job is sent
    # again, and round_robin picks another worker; once it started (any other event) it is never sent again.
    started = False
    resent = 0
    # A request's images arrive as one result each; its `done` event carries them all.
    results: list[generator_pb2.GenerateImageResponse] = []
    event = first
    try:
        while True:
            kind = event.WhichOneof("event")
            started = started or kind != "queued"
            if kind == "result":
                results.append(event.result)
                worker.last_generation_seconds = event.result.generation_seconds
            else:
                yield event_to_sse(event)
            while True:
                try:
                    # read(), not `async for`: gRPC forbids mixing the two on one call, and the first was read().
                    next_event = await call.read()
                    break
                except grpc.aio.AioRpcError as error:
                    if started or error.code() != grpc.StatusCode.UNAVAILABLE or resent >= MAX_RESENDS:
                        raise
                    resent += 1
                    log.warning("worker went away while the job was queued (%s); sending it again", error.details())
                    call = worker.generate_stream(request)
            if not isinstance(next_event, generator_pb2.GenerateImageEvent):  # grpc.aio.EOF
                break
            event = next_event
        if results:
            yield done_event(results, await keep(results))
    except grpc.aio.AioRpcError as error:
        failure = describe_rpc_error(worker, error)
        refusal = StreamError(error=failure.code, message=failure.message, retry_after=failure.retry_after)
        yield sse_event("error", refusal)
    finally:
        if not call.done():
            log.info("stream closed before the image was done; cancelled its generation")
            call.cancel()
