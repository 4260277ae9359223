"""Test doubles and helpers: a real gRPC server with a scriptable ImageService and the real health service."""

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
import httpx
import uvicorn
from fastapi.testclient import TestClient
from genproto import channel, generator_pb2, generator_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from api.settings import ApiSettings
from api.worker_client import HEALTH_SERVICE
from scripts.devstack import free_port as free_port  # re-exported: one definition for all tests

# As the real worker's server (worker/server.py GRPC_OPTIONS): large messages, and the gateway's keepalive
# pings welcome.
SERVER_OPTIONS = [
    *channel.MESSAGE_SIZE_OPTIONS,
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", channel.SERVER_MIN_PING_MS),
]

PNG = b"\x89PNG\r\n\x1a\n" + b"fake image bytes"

MODEL_INFO = generator_pb2.ModelInfo(
    model_name="demo-shapes",
    demo_model=True,
    description="flat shapes on flat backgrounds",
    device="cpu",
    dtype="float32",
    default_width=512,
    default_height=512,
    default_steps=20,
    default_guidance_scale=7.0,
    queue_capacity=16,
    queue_length=3,
    default_sampler="Euler",
    max_count=8,
)

LIBRARY_MODEL = generator_pb2.LibraryModel(
    name="demo-shapes", title="demo-shapes", kind="demo", loaded=True, is_default=True, demo=True
)


def reply_for(request: generator_pb2.GenerateImageRequest) -> generator_pb2.GenerateImageResponse:
    """What a worker would answer: the requested values, or defaults for unset ones."""
    return generator_pb2.GenerateImageResponse(
        image=PNG,
        mime_type="image/png",
        filename_hint=f"img-{request.seed if request.HasField('seed') else 1234}.png",
        seed=request.seed if request.HasField("seed") else 1234,
        width=request.width if request.HasField("width") else 512,
        height=request.height if request.HasField("height") else 512,
        steps=request.steps if request.HasField("steps") else 20,
        guidance_scale=request.guidance_scale if request.HasField("guidance_scale") else 7.0,
        model_name="demo-shapes",
        demo_model=True,
        generation_seconds=0.25,
    )


@dataclass
class FakeImageService(generator_pb2_grpc.ImageServiceServicer):
    """Answers as the test scripts it; records what arrived on the wire."""

    requests: list[generator_pb2.GenerateImageRequest] = field(default_factory=list)
    # Set to abort with this status instead of answering.
    error: tuple[grpc.StatusCode, str] | None = None
    # Seconds to take before answering; the call ends early when the caller cancels.
    delay: float = 0.0
    reply: Callable[[generator_pb2.GenerateImageRequest], generator_pb2.GenerateImageResponse] = reply_for
    cancelled: threading.Event = field(default_factory=threading.Event)
    # Sent as trailing metadata with `error`, e.g. (("retry-after", "42"),).
    trailing: tuple[tuple[str, str], ...] = ()
    # The stream's events before its result; `error`, when set, ends the stream after them instead.
    stream_events: list[generator_pb2.GenerateImageEvent] = field(default_factory=list)
    # Answered as worker_id (start_fake_worker sets fake-<port>); empty is an older worker that sends none.
    worker_id: str = "fake-worker"
    # The invocation metadata of each generation call, in arrival order (e.g. x-request-id).
    metadata: list[dict[str, str | bytes]] = field(default_factory=list)

    def _reply(self, request: generator_pb2.GenerateImageRequest) -> generator_pb2.GenerateImageResponse:
        reply = self.reply(request)
        reply.worker_id = reply.worker_id or self.worker_id
        return reply

    def GenerateImage(
        self, request: generator_pb2.GenerateImageRequest, context: grpc.ServicerContext
    ) -> generator_pb2.GenerateImageResponse:
        self.requests.append(request)
        self.metadata.append(dict(context.invocation_metadata()))
        deadline = time.monotonic() + self.delay
        while time.monotonic() < deadline:
            if not context.is_active():
                self.cancelled.set()
                return generator_pb2.GenerateImageResponse()
            time.sleep(0.02)
        if self.error is not None:
            context.set_trailing_metadata(self.trailing)
            context.abort(*self.error)
        return self._reply(request)

    def GenerateImageStream(
        self, request: generator_pb2.GenerateImageRequest, context: grpc.ServicerContext
    ) -> Iterator[generator_pb2.GenerateImageEvent]:
        self.requests.append(request)
        self.metadata.append(dict(context.invocation_metadata()))
        yield from self.stream_events
        if self.error is not None:
            context.set_trailing_metadata(self.trailing)
            context.abort(*self.error)
        yield generator_pb2.GenerateImageEvent(result=self._reply(request))

    def ListModels(
        self, request: generator_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelList:
        return generator_pb2.ModelList(models=[LIBRARY_MODEL])

    def ListLoras(
        self, request: generator_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> generator_pb2.LoraList:
        ink = generator_pb2.LibraryLora(name="style/ink", alias="ink", hash="0123456789ab", path="loras/style/ink")
        return generator_pb2.LoraList(loras=[ink])

    def RefreshModels(
        self, request: generator_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelList:
        return generator_pb2.ModelList(models=[LIBRARY_MODEL])

    def SetDefaultModel(
        self, request: generator_pb2.SetDefaultModelRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelList:
        if request.name != LIBRARY_MODEL.name:
            context.set_trailing_metadata((("error-reason", "invalid_value"),))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f'name "{request.name}" is not in the model library')
        return generator_pb2.ModelList(models=[LIBRARY_MODEL])

    def GetModelInfo(
        self, request: generator_pb2.GetModelInfoRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelInfo:
        info = generator_pb2.ModelInfo()
        info.CopyFrom(MODEL_INFO)
        info.worker_id = self.worker_id
        return info


@dataclass
class FakeWorker:
    """A real gRPC server on a local port: the fake ImageService and grpc_health's HealthServicer."""

    port: int
    images: FakeImageService
    health: health.HealthServicer
    server: grpc.Server

    def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for service in ("", HEALTH_SERVICE):
            self.health.set(service, status)


def start_fake_worker(port: int = 0) -> FakeWorker:
    """Starts the fake worker (on a free port when 0), SERVING."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=SERVER_OPTIONS)
    images = FakeImageService()
    health_servicer = health.HealthServicer()
    generator_pb2_grpc.add_ImageServiceServicer_to_server(images, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    images.worker_id = f"fake-{bound}"
    worker = FakeWorker(port=bound, images=images, health=health_servicer, server=server)
    worker.set_serving(True)
    return worker


def settings_for(port: int, **overrides: object) -> ApiSettings:
    """Settings for a worker on 127.0.0.1:port (or the rpc_target override), independent of the repo's .env.

    The gallery is off unless a test turns it on: these tests are about the gateway's answers, and a test that
    keeps images names its own API_DATA_DIR.
    """
    values: dict[str, object] = {"rpc_peer": "127.0.0.1", "rpc_port": port, "api_gallery": False, **overrides}
    return ApiSettings(_env_file=None, **values)  # type: ignore[arg-type]


@dataclass
class LiveApi:
    """The app served by real uvicorn on a local port."""

    url: str
    server: uvicorn.Server


class HttpResponse(Protocol):
    """What the tests read of a response, from httpx or from TestClient (which may use httpx2)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


def static_target(*workers: FakeWorker) -> str:
    """RPC_TARGET naming every fake worker: gRPC's ipv4: list of addresses."""
    return "ipv4:" + ",".join(f"127.0.0.1:{worker.port}" for worker in workers)


def post_json(client: httpx.Client | TestClient, body: str, path: str = "/generateimage") -> HttpResponse:
    """POSTs body as application/json exactly as written (so malformed JSON stays malformed)."""
    return client.post(path, content=body.encode(), headers={"Content-Type": "application/json"})
