"""The gRPC client of the image workers: one balanced grpc.aio channel, and one per worker for readiness."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import grpc
from genproto import channel, generator_pb2, generator_pb2_grpc
from grpc_health.v1 import health_pb2

from api.request_id import grpc_metadata
from api.settings import ApiSettings
from api.targets import WorkerTarget, service_config

CHANNEL_OPTIONS: Final[list[tuple[str, int]]] = [
    *channel.MESSAGE_SIZE_OPTIONS,
    # gRPC's default backoff grows to 120 s; a worker that restarts should be used again within seconds.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    # Keepalive as genproto.channel agrees with the worker (a killed VM, a dropped NAT entry are found).
    ("grpc.keepalive_time_ms", channel.CLIENT_PING_MS),
    ("grpc.keepalive_timeout_ms", channel.CLIENT_PING_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]

HEALTH_SERVICE: Final = channel.SERVICE_NAME

log = logging.getLogger(__name__)


class WorkerUnreachable(Exception):
    """No worker answered the readiness check: down, hung, not this service, or the name does not resolve."""

    def __init__(self, code: grpc.StatusCode, details: str, *, workers: int = 1, message: str = "") -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        # How many workers were asked; 0 when the target resolved to none.
        self.workers = workers
        # The client's message, when the handler's default does not fit.
        self.message = message


@dataclass(frozen=True)
class WorkerHealth:
    """One worker's answer to a readiness check."""

    address: str
    # Its model and queue, when it reports SERVING.
    info: generator_pb2.ModelInfo | None = None
    # Set when it did not answer within the ready timeout (or is not an image worker).
    error: grpc.StatusCode | None = None
    details: str = ""


ChannelOptions = Sequence[tuple[str, int | str]]


@dataclass(frozen=True)
class Transport:
    """How the gateway dials a worker: plain TCP, or TLS (with a client certificate for mTLS) per the settings.

    The one factory of channels, used by the balanced channel and by every readiness probe alike, so both
    reach a worker the same way.
    """

    credentials: grpc.ChannelCredentials | None = None
    # Extra channel options, e.g. the name checked in the worker's certificate.
    options: tuple[tuple[str, int | str], ...] = field(default=())

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> "Transport":
        """Plain TCP unless API_GRPC_TLS_CA or a client certificate is set."""
        if not settings.grpc_tls:
            return cls()
        credentials = grpc.ssl_channel_credentials(
            # None: the system's trusted CAs, for a worker whose certificate a public CA signed.
            root_certificates=_read(settings.api_grpc_tls_ca),
            private_key=_read(settings.api_grpc_tls_key),
            certificate_chain=_read(settings.api_grpc_tls_cert),
        )
        name = settings.api_grpc_tls_server_name
        # E.g. workers dialled by IP address (RPC_TARGET=ipv4:...) whose certificates name a service.
        options = (("grpc.ssl_target_name_override", name),) if name else ()
        return cls(credentials, options)

    def open(self, target: str, options: ChannelOptions) -> grpc.aio.Channel:
        """A grpc.aio channel to target with the given options and this transport's."""
        all_options = [*options, *self.options]
        if self.credentials is None:
            return grpc.aio.insecure_channel(target, options=all_options)
        return grpc.aio.secure_channel(target, self.credentials, options=all_options)


def _read(path: Path | None) -> bytes | None:
    # Read once at start-up; a certificate renewed on disk is taken with a restart.
    return path.read_bytes() if path is not None else None


class _Probe:
    """A channel to one worker's address, for its health and model info: the balanced channel picks a worker
    per call, so it cannot say which one answered."""

    def __init__(self, address: str, transport: Transport) -> None:
        self.channel = transport.open(address, CHANNEL_OPTIONS)
        self.images = generator_pb2_grpc.ImageServiceStub(self.channel)
        # Built by hand rather than with HealthStub, whose typeshed stub declares no methods.
        self.health_check = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )


class WorkerClient:
    """Calls the workers' ImageService and Health; never waits for a down worker (no wait_for_ready)."""

    def __init__(
        self,
        workers: WorkerTarget,
        *,
        generate_timeout: float,
        ready_timeout: float,
        transport: Transport | None = None,
    ) -> None:
        self.workers = workers
        self.transport = transport or Transport()
        self.target = workers.grpc_target
        self.generate_timeout = generate_timeout
        self.ready_timeout = ready_timeout
        # While no worker serves, readiness polls (the page's, a probe's) say so once, not once a poll.
        self._waiting = False
        # The most recent generation time, for Retry-After: a queue slot frees when one generation ends.
        self.last_generation_seconds = 1.0
        options: list[tuple[str, int | str]] = [*CHANNEL_OPTIONS, ("grpc.service_config", service_config())]
        self._channel = self.transport.open(self.target, options)
        self._images = generator_pb2_grpc.ImageServiceStub(self._channel)
        self._probes: dict[str, _Probe] = {}

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> "WorkerClient":
        """A client for the workers the settings name; call inside the running event loop."""
        return cls(
            settings.workers,
            generate_timeout=settings.api_generate_timeout_seconds,
            ready_timeout=settings.api_ready_timeout_seconds,
            transport=Transport.from_settings(settings),
        )

    async def close(self) -> None:
        """Closes the channels, cancelling calls still in flight."""
        await self._channel.close(grace=None)
        await self._forget_all_but(set())

    async def generate(self, request: generator_pb2.GenerateImageRequest) -> generator_pb2.GenerateImageResponse:
        """One generation; gRPC errors (grpc.aio.AioRpcError) go to the error table in api.errors.

        Every surface (native, and later openai/ and a1111/) translates its own request into this one.
        """
        reply: generator_pb2.GenerateImageResponse = await self._images.GenerateImage(
            request, timeout=self.generate_timeout, metadata=grpc_metadata()
        )
        self.last_generation_seconds = reply.generation_seconds
        return reply

    def generate_stream(
        self, request: generator_pb2.GenerateImageRequest
    ) -> "grpc.aio.UnaryStreamCall[generator_pb2.GenerateImageRequest, generator_pb2.GenerateImageEvent]":
        """The streamed generation: an async iterator of events, cancelled with .cancel()."""
        call: grpc.aio.UnaryStreamCall[generator_pb2.GenerateImageRequest, generator_pb2.GenerateImageEvent] = (
            self._images.GenerateImageStream(request, timeout=self.generate_timeout, metadata=grpc_metadata())
        )
        return call

    async def list_models(self) -> generator_pb2.ModelList:
        """The model library of a serving worker (the workers behind one gateway share one library)."""
        listed: generator_pb2.ModelList = await self._images.ListModels(
            generator_pb2.ListModelsRequest(), timeout=self.ready_timeout, metadata=grpc_metadata()
        )
        return listed

    async def list_loras(self) -> generator_pb2.LoraList:
        """The LoRAs of a serving worker's library."""
        listed: generator_pb2.LoraList = await self._images.ListLoras(
            generator_pb2.ListModelsRequest(), timeout=self.ready_timeout, metadata=grpc_metadata()
        )
        return listed

    async def on_every_worker(
        # Quoted: the async stub class exists only in the generated .pyi.
        self,
        call: "Callable[[generator_pb2_grpc.ImageServiceAsyncStub], Awaitable[generator_pb2.ModelList]]",
    ) -> generator_pb2.ModelList:
        """Run a library change on every serving worker (so they agree); the first worker's answer.

        Raises the first worker's gRPC error, and WorkerUnreachable when none serves.
        """
        serving = [w.address for w in await self.check_workers() if w.info is not None]
        if not serving:
            raise WorkerUnreachable(grpc.StatusCode.UNAVAILABLE, "no worker is serving", workers=0)
        answers = await asyncio.gather(*(call(self._probes[address].images) for address in serving))
        return answers[0]

    async def check_workers(self) -> list[WorkerHealth]:
        """Every worker's health (and model info when SERVING), all asked at once, within the ready timeout.

        Raises WorkerUnreachable when the target resolves to no address: a readiness probe wants 503 for
        that, not the 504 a generation's deadline gets.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        try:
            async with asyncio.timeout(self.ready_timeout):
                addresses = await self.workers.resolve()
        except (OSError, TimeoutError) as error:  # socket.gaierror is an OSError
            raise WorkerUnreachable(
                grpc.StatusCode.UNAVAILABLE,
                f"resolving {self.target}: {error or 'timed out'}",
                workers=0,
                message=f"the image workers' name ({self.target}) does not resolve; retry in a few seconds",
            ) from error
        await self._forget_all_but(set(addresses))
        # Each check gets what resolution left of the deadline, so /ready answers within the ready timeout.
        workers = list(await asyncio.gather(*(self._check(address, deadline) for address in addresses)))
        self._note_readiness(workers)
        return workers

    def _note_readiness(self, workers: list["WorkerHealth"]) -> None:
        """Logs the change between 'no worker serves' and 'a worker serves', once each way."""
        serving = sum(w.info is not None for w in workers)
        if not serving and not self._waiting:
            why = next((w.error.name for w in workers if w.error is not None), "loading")
            log.info("waiting for the worker at %s (%s)", self.target, why)
        elif serving and self._waiting:
            log.info("the worker at %s is ready (%d of %d serving)", self.target, serving, len(workers))
        self._waiting = not serving

    async def _check(self, address: str, deadline: float) -> WorkerHealth:
        if address not in self._probes:
            self._probes[address] = _Probe(address, self.transport)
        probe = self._probes[address]
        loop = asyncio.get_running_loop()
        try:
            health: health_pb2.HealthCheckResponse = await probe.health_check(
                health_pb2.HealthCheckRequest(service=HEALTH_SERVICE), timeout=max(0.1, deadline - loop.time())
            )
            if health.status != health_pb2.HealthCheckResponse.SERVING:
                return WorkerHealth(address)
            info: generator_pb2.ModelInfo = await probe.images.GetModelInfo(
                generator_pb2.GetModelInfoRequest(), timeout=max(0.1, deadline - loop.time())
            )
        except grpc.aio.AioRpcError as error:
            return WorkerHealth(address, error=error.code(), details=error.details() or "")
        return WorkerHealth(address, info=info)

    async def _forget_all_but(self, addresses: set[str]) -> None:
        """Closes the probes of workers that are gone (a replica scaled away), so their channels stop dialling."""
        for address in [a for a in self._probes if a not in addresses]:
            await self._probes.pop(address).channel.close(grace=None)
