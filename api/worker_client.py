"""The gRPC client of the image worker: one grpc.aio channel for the gateway's lifetime."""

from typing import Final

import grpc
from genproto import generator_pb2, generator_pb2_grpc
from grpc_health.v1 import health_pb2

from api.schemas import GenerateImageRequest
from api.settings import ApiSettings

# The largest image (2048x2048 PNG of noise) is about 12 MiB; gRPC's default receive limit is 4 MiB.
MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024

CHANNEL_OPTIONS: Final[list[tuple[str, int]]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # gRPC's default backoff grows to 120 s; a worker that restarts should be used again within seconds.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]

# The worker reports health for "" and for this name; the named one says the ImageService itself is up.
HEALTH_SERVICE: Final = generator_pb2.DESCRIPTOR.services_by_name["ImageService"].full_name


class WorkerUnreachable(Exception):
    """The worker's health or model-info call failed: it is down, hung, or not this service."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


def to_proto(request: GenerateImageRequest) -> generator_pb2.GenerateImageRequest:
    """The wire request; optional fields are set only when the client gave them (unset is not 0)."""
    # The model's field names are the proto's, so exclude_none leaves unset fields absent on the wire.
    return generator_pb2.GenerateImageRequest(**request.model_dump(exclude_none=True))


class WorkerClient:
    """Calls the worker's ImageService and Health; never waits for a down worker (no wait_for_ready)."""

    def __init__(self, target: str, *, generate_timeout: float, ready_timeout: float) -> None:
        self.target = target
        self.generate_timeout = generate_timeout
        self.ready_timeout = ready_timeout
        # The most recent generation time, for Retry-After: a queue slot frees when one generation ends.
        self.last_generation_seconds = 1.0
        self._channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
        self._images = generator_pb2_grpc.ImageServiceStub(self._channel)
        # Built by hand rather than with HealthStub, whose typeshed stub declares no methods.
        self._health_check = self._channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> "WorkerClient":
        """A client for the worker the settings name; call inside the running event loop."""
        return cls(
            settings.worker_target,
            generate_timeout=settings.api_generate_timeout_seconds,
            ready_timeout=settings.api_ready_timeout_seconds,
        )

    async def close(self) -> None:
        """Closes the channel, cancelling calls still in flight."""
        await self._channel.close(grace=None)

    async def generate(self, request: GenerateImageRequest) -> generator_pb2.GenerateImageResponse:
        """One generation; gRPC errors (grpc.aio.AioRpcError) go to the error table in api.errors."""
        reply: generator_pb2.GenerateImageResponse = await self._images.GenerateImage(
            to_proto(request), timeout=self.generate_timeout
        )
        self.last_generation_seconds = reply.generation_seconds
        return reply

    def generate_stream(
        self, request: GenerateImageRequest
    ) -> "grpc.aio.UnaryStreamCall[generator_pb2.GenerateImageRequest, generator_pb2.GenerateImageEvent]":
        """The streamed generation: an async iterator of events, cancelled with .cancel()."""
        call: grpc.aio.UnaryStreamCall[generator_pb2.GenerateImageRequest, generator_pb2.GenerateImageEvent] = (
            self._images.GenerateImageStream(to_proto(request), timeout=self.generate_timeout)
        )
        return call

    async def ready(self) -> tuple[bool, generator_pb2.ModelInfo | None]:
        """(True, model info) when the worker reports SERVING, (False, None) when it answers otherwise.

        Raises WorkerUnreachable when it does not answer within the ready timeout: a readiness probe
        wants 503 for that, not the 504 a generation's deadline gets.
        """
        try:
            health: health_pb2.HealthCheckResponse = await self._health_check(
                health_pb2.HealthCheckRequest(service=HEALTH_SERVICE), timeout=self.ready_timeout
            )
            if health.status != health_pb2.HealthCheckResponse.SERVING:
                return False, None
            info: generator_pb2.ModelInfo = await self._images.GetModelInfo(
                generator_pb2.GetModelInfoRequest(), timeout=self.ready_timeout
            )
        except grpc.aio.AioRpcError as error:
            raise WorkerUnreachable(error.code(), error.details() or "") from error
        return True, info
