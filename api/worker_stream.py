"""One request's events from the worker's GenerateImageStream, for every surface that reads them (the native SSE
relay, OpenAI's answers and streams, A1111's jobs)."""

import logging
from collections.abc import AsyncGenerator
from typing import Final

import grpc
from genproto import generator_pb2

from api.worker_client import WorkerClient

log = logging.getLogger(__name__)
StreamCall = grpc.aio.UnaryStreamCall[generator_pb2.GenerateImageRequest, generator_pb2.GenerateImageEvent]
# How often a job that lost its worker while queued is sent again (each time to the next worker).
MAX_RESENDS: Final = 2


class WorkerStream:
    """The worker's events for one request: the first awaited on its own, so a refusal (422, 429, 503) is a plain
    error before any answer starts; then every event, a job that lost its worker while still queued sent again."""

    def __init__(self, worker: WorkerClient, request: generator_pb2.GenerateImageRequest) -> None:
        self.worker = worker
        self.request = request
        self.call: StreamCall = worker.generate_stream(request)
        self._first: generator_pb2.GenerateImageEvent | None = None

    async def first(self) -> generator_pb2.GenerateImageEvent:
        """The first event (queued, as a rule); a refusal raises the worker's AioRpcError for the error table."""
        if self._first is None:
            try:
                first = await self.call.read()
            except BaseException:
                self.call.cancel()
                raise
            if not isinstance(first, generator_pb2.GenerateImageEvent):  # grpc.aio.EOF
                self.call.cancel()
                raise RuntimeError("the worker ended the stream without an event")
            self._first = first
        return self._first

    def cancel(self) -> None:
        """Cancel the running call (the worker stops the job at its next step)."""
        self.call.cancel()

    async def events(self) -> AsyncGenerator[generator_pb2.GenerateImageEvent]:
        """Every event from the first on; the call is cancelled when the reader stops before the end."""
        # The first `queued` event commits the call, so gRPC's retry policy no longer covers it: a worker that dies
        # (UNAVAILABLE) while the job still waits in its queue would fail a job that never ran. Such a job is sent
        # again, and round_robin picks another worker; once it started (any other event) it is never sent again.
        started = False
        resent = 0
        event = await self.first()
        try:
            while True:
                kind = event.WhichOneof("event")
                started = started or kind != "queued"
                if kind == "result":
                    self.worker.last_generation_seconds = event.result.generation_seconds
                yield event
                while True:
                    try:
                        # read(), not `async for`: gRPC forbids mixing the two on one call, and the first was read().
                        next_event = await self.call.read()
                        break
                    except grpc.aio.AioRpcError as error:
                        if started or error.code() != grpc.StatusCode.UNAVAILABLE or resent >= MAX_RESENDS:
                            raise
                        resent += 1
                        log.warning("worker went away while the job was queued (%s); sending it again", error.details())
                        self.call = self.worker.generate_stream(self.request)
                if not isinstance(next_event, generator_pb2.GenerateImageEvent):  # grpc.aio.EOF
                    return
                event = next_event
        finally:
            if not self.call.done():
                log.info("the answer was abandoned before the image was done; cancelled its generation")
                self.call.cancel()

    async def results(self) -> list[generator_pb2.GenerateImageResponse]:
        """Every image of the request (one result event each), for an answer that is not streamed."""
        return [event.result async for event in self.events() if event.HasField("result")]
