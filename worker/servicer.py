"""The gRPC ImageService: handlers check, enqueue and wait; the engine thread does the GPU work."""

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import grpc
from genproto import generator_pb2, generator_pb2_grpc

from worker.encode import PNG_MIME_TYPE, encode_png
from worker.engine import Engine
from worker.errors import NotReady, WorkerError
from worker.model_loader import LoadedModel
from worker.params import resolve_params

log = logging.getLogger(__name__)

Request = TypeVar("Request")
Response = TypeVar("Response")
Handler = Callable[["ImageServicer", Request, grpc.ServicerContext], Response]


def grpc_errors(handler: Handler[Request, Response]) -> Handler[Request, Response]:
    """The one gRPC error path (DESIGN principle 6): WorkerError → its status; anything else → INTERNAL."""

    @functools.wraps(handler)
    def wrapper(self: "ImageServicer", request: Request, context: grpc.ServicerContext) -> Response:
        try:
            return handler(self, request, context)
        except WorkerError as exc:
            context.abort(exc.code, exc.message)
        except Exception:
            # The traceback goes to the log, never to the caller.
            log.exception("%s failed", handler.__name__)
            context.abort(grpc.StatusCode.INTERNAL, "internal error in the worker; see the worker's log")

    return wrapper


class WorkerState:
    """What the handlers share: the loaded model and the engine once ready, and whether the worker drains."""

    def __init__(self, queue_capacity: int, png_compress_level: int) -> None:
        self.queue_capacity = queue_capacity
        self.png_compress_level = png_compress_level
        self.model: LoadedModel | None = None
        self.engine: Engine | None = None
        self.draining = threading.Event()

    def ready(self) -> tuple[LoadedModel, Engine]:
        """The model and engine, or NotReady while loading, warming up or draining."""
        if self.draining.is_set():
            raise NotReady("the worker is shutting down and takes no new requests")
        if self.model is None or self.engine is None:
            raise NotReady("the worker is still loading its model; retry in a few seconds")
        return self.model, self.engine


class ImageServicer(generator_pb2_grpc.ImageServiceServicer):
    """generator.ImageService on the shared WorkerState."""

    def __init__(self, state: WorkerState) -> None:
        self._state = state

    @grpc_errors
    def GenerateImage(
        self, request: generator_pb2.GenerateImageRequest, context: grpc.ServicerContext
    ) -> generator_pb2.GenerateImageResponse:
        """Check, enqueue, wait for the pixels, encode them here (off the engine thread) and answer."""
        model, engine = self._state.ready()
        params = resolve_params(request, model.defaults)
        remaining = context.time_remaining()
        deadline = None if remaining is None else time.monotonic() + remaining
        job = engine.submit(params, deadline)
        # Called when the RPC ends for any reason: a caller gone (or past its deadline) frees the engine.
        context.add_callback(lambda: engine.cancel(job) if not job.future.done() else None)
        result = job.result()
        image = encode_png(result.pixels, self._state.png_compress_level)
        return generator_pb2.GenerateImageResponse(
            image=image,
            mime_type=PNG_MIME_TYPE,
            filename_hint=f"img-{params.seed}.png",
            seed=params.seed,
            width=params.width,
            height=params.height,
            steps=params.steps,
            guidance_scale=params.guidance_scale,
            model_name=model.name,
            demo_model=model.is_demo,
            generation_seconds=result.seconds,
        )

    @grpc_errors
    def GetModelInfo(
        self, request: generator_pb2.GetModelInfoRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelInfo:
        """Describe the loaded model and its defaults."""
        model, engine = self._state.ready()
        return generator_pb2.ModelInfo(
            model_name=model.name,
            demo_model=model.is_demo,
            device=str(model.device),
            dtype=str(model.dtype).removeprefix("torch."),
            default_width=model.defaults.width,
            default_height=model.defaults.height,
            default_steps=model.defaults.steps,
            default_guidance_scale=model.defaults.guidance_scale,
            queue_capacity=engine.capacity,
            queue_length=engine.queue_length,
        )
