"""The gRPC ImageService: handlers check, enqueue and wait; the engine thread does the GPU work."""

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, NoReturn, Protocol, TypeVar, cast

import grpc
from genproto import generator_pb2, generator_pb2_grpc, limits, reasons
from genproto.reasons import Reason

from worker import metrics
from worker.encode import PREVIEW_MIME_TYPE, Encoder, encode_preview
from worker.engine import Engine, GenerationResult, Job, JobEvent, Queued, Started, Step
from worker.errors import Draining, InvalidRequest, NotReady, OutOfMemory, WorkerError
from worker.infotext import infotext, service_version
from worker.lora_tags import extract_lora_tags
from worker.model_library import ModelEntry, ModelLibrary
from worker.model_loader import Defaults
from worker.params import GenerationParams, images, resolve_params, sampler_name

log = logging.getLogger(__name__)
# gRPC metadata the gateway sets from X-Request-Id (lower case: gRPC metadata keys are).
REQUEST_ID_KEY = "x-request-id"
# Where a refused name's valid ones are listed, for gRPC callers and for the people behind the gateway alike.
MODELS_LISTED_BY = "ListModels, GET /models over HTTP"
LORAS_LISTED_BY = "ListLoras, GET /loras over HTTP"

Handler = TypeVar("Handler", bound=Callable[..., Any])


def _abort(context: grpc.ServicerContext, exc: Exception, handler: str) -> NoReturn:
    code = exc.code if isinstance(exc, WorkerError) else grpc.StatusCode.INTERNAL
    metrics.REQUESTS.labels(method=handler, code=code.name).inc()
    if isinstance(exc, WorkerError):
        # docs/architecture.md, section "One error path": the reason, so the gateway never reads the message.
        trailing = [(reasons.METADATA_KEY, exc.reason.value)]
        if exc.retry_after is not None:
            trailing.append((reasons.RETRY_AFTER_KEY, str(exc.retry_after)))
        if isinstance(exc, OutOfMemory):
            # RESOURCE_EXHAUSTED is retryable for the gateway only when the job never ran (queue full); this
            # one ran out of memory, so a negative pushback tells gRPC's retry policy not to send it again.
            trailing.append(("grpc-retry-pushback-ms", "-1"))
        context.set_trailing_metadata(tuple(trailing))
        context.abort(exc.code, exc.message)
    # The traceback goes to the log, never to the caller.
    log.error("%s failed", handler, exc_info=exc)
    context.set_trailing_metadata(((reasons.METADATA_KEY, Reason.INTERNAL.value),))
    context.abort(grpc.StatusCode.INTERNAL, "internal error in the worker; see the worker's log")


def grpc_errors(handler: Handler) -> Handler:
    """The one gRPC error path: WorkerError → its status and reason; anything else → INTERNAL."""
    # docs/architecture.md, section "One error path".
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def stream(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            try:
                yield from handler(self, request, context)
            except Exception as exc:
                _abort(context, exc, handler.__name__)
            metrics.REQUESTS.labels(method=handler.__name__, code="OK").inc()

        return cast(Handler, stream)

    @functools.wraps(handler)
    def unary(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            response = handler(self, request, context)
        except Exception as exc:
            _abort(context, exc, handler.__name__)
        metrics.REQUESTS.labels(method=handler.__name__, code="OK").inc()
        return response

    return cast(Handler, unary)


class Models(Protocol):
    """What the handlers ask of the models in memory (worker/resident_models.py)."""

    def defaults_of(self, entry: ModelEntry) -> Defaults:
        """The values a request for this model gets when it leaves them unset."""
        ...

    def loaded_names(self) -> set[str]:
        """The models in memory now."""
        ...

    def description_of(self, entry: ModelEntry) -> str:
        """What the model draws and how to prompt it; empty when it says nothing."""
        ...


class WorkerState:
    """What the handlers share: the library, the models and the engine once ready, and whether the worker drains."""

    def __init__(
        self, encoder: Encoder, worker_id: str, *, max_count: int = limits.MAX_COUNT, image_metadata: bool = True
    ) -> None:
        self.encoder = encoder
        self.worker_id = worker_id
        self.max_count = max_count
        # Whether each image carries its generation parameters (WORKER_IMAGE_METADATA).
        self.image_metadata = image_metadata
        self.library: ModelLibrary | None = None
        self.models: Models | None = None
        self.engine: Engine | None = None
        # Where the models run, as GetModelInfo says it ("cpu", "float32").
        self.device = ""
        self.dtype = ""
        self.draining = threading.Event()

    def infotext(self, entry: ModelEntry, params: GenerationParams) -> str:
        """A1111's generation parameters for an image, as written inside its file."""
        assert self.library is not None
        # A reader (A1111's png-info, sd-parsers) needs a sampler name even for a model scheduler of no A1111 kind.
        named = replace(params, sampler=sampler_name(params))
        model_hash = self.library.hash_of(entry)
        loras = [self.library.lora(name) for name, _ in params.loras]
        hashes = [(lora.alias, self.library.lora_hash_of(lora)) for lora in loras if lora is not None]
        lora_hashes = [(alias, short) for alias, short in hashes if short]  # A1111 writes the hashes it knows
        return infotext(
            named, model_name=entry.name, model_hash=model_hash, version=service_version(), lora_hashes=lora_hashes
        )

    def ready(self) -> tuple[ModelLibrary, Models, Engine]:
        """The library, the models and the engine, or NotReady while loading, warming up or draining."""
        if self.draining.is_set():
            raise Draining("the worker is shutting down and takes no new requests")
        if self.library is None or self.models is None or self.engine is None:
            raise NotReady("the worker is still loading its model; retry in a few seconds")
        return self.library, self.models, self.engine

    def model_list(self) -> generator_pb2.ModelList:
        """The library as ListModels answers it."""
        library, models, _ = self.ready()
        loaded, default = models.loaded_names(), library.default.name
        listed = []
        for entry in library.entries():
            short = library.hash_of(entry) or ""
            listed.append(
                generator_pb2.LibraryModel(
                    name=entry.name,
                    title=f"{entry.name} [{short}]" if short else entry.name,
                    hash=short,
                    kind=entry.kind,
                    loaded=entry.name in loaded,
                    is_default=entry.name == default,
                    demo=entry.is_demo,
                )
            )
        return generator_pb2.ModelList(models=listed)


class ImageServicer(generator_pb2_grpc.ImageServiceServicer):
    """generator.ImageService on the shared WorkerState."""

    def __init__(self, state: WorkerState) -> None:
        self._state = state

    def _submit(
        self, request: generator_pb2.GenerateImageRequest, context: grpc.ServicerContext, *, stream: bool
    ) -> tuple[ModelEntry, list[Job]]:
        """Check and enqueue one job per image; they are cancelled as soon as the RPC ends other than by success."""
        library, models, engine = self._state.ready()
        model = self._model(library, request)
        params = resolve_params(request, models.defaults_of(model), self._state.max_count)
        clean, tagged = extract_lora_tags(request.positive_prompt)
        loras = self._loras(library, request, tagged)
        params = replace(params, model=model.name, loras=loras, encoder_prompt=clean)
        if not stream and params.image_count > 1:
            raise InvalidRequest(limits.needs_stream("count", params.image_count, "GenerateImageStream"))
        remaining = context.time_remaining()
        deadline = None if remaining is None else time.monotonic() + remaining
        metadata = dict(context.invocation_metadata() or ())
        request_id = str(metadata.get(REQUEST_ID_KEY, ""))[:64]
        jobs = engine.submit_all(images(params), deadline, stream=stream, request_id=request_id)

        def cancel_the_rest() -> None:
            # Called when the RPC ends: a caller gone (or past its deadline) frees the engine at once.
            for job in jobs:
                if not job.future.done():
                    engine.cancel(job)

        context.add_callback(cancel_the_rest)
        return model, jobs

    @staticmethod
    def _model(library: ModelLibrary, request: generator_pb2.GenerateImageRequest) -> ModelEntry:
        """The model a request names, looked up among the scanned names only (never opened as a path)."""
        if not request.HasField("model"):
            return library.default
        if len(request.model) > limits.MAX_NAME_CHARS:
            raise InvalidRequest(limits.too_long("model", limits.MAX_NAME_CHARS, len(request.model)))
        entry = library.get(request.model)
        if entry is None:
            raise InvalidRequest(limits.not_listed("model", request.model, MODELS_LISTED_BY))
        return entry

    @staticmethod
    def _loras(
        library: ModelLibrary, request: generator_pb2.GenerateImageRequest, tagged: list[tuple[str, float]]
    ) -> tuple[tuple[str, float], ...]:
        """The request's LoRAs and its prompt's `<lora:…>` tags, each checked against the library and the limits."""
        wanted = [(lora.name, lora.weight) for lora in request.loras] + tagged
        if len(wanted) > limits.MAX_LORAS:
            raise InvalidRequest(limits.above("loras", limits.MAX_LORAS, f"{len(wanted)} with the prompt's tags"))
        for name, weight in wanted:
            refusal = limits.check_range(
                f"lora {name!r} weight", weight, limits.MIN_LORA_WEIGHT, limits.MAX_LORA_WEIGHT
            )
            if refusal:
                raise InvalidRequest(refusal)
            if library.lora(name) is None:
                raise InvalidRequest(limits.not_listed("lora", name, LORAS_LISTED_BY))
        return tuple(wanted)

    def _response(
        self, model: ModelEntry, params: GenerationParams, result: GenerationResult
    ) -> generator_pb2.GenerateImageResponse:
        """Encode the pixels here, on the handler's thread, never on the engine thread."""
        text = self._state.infotext(model, params) if self._state.image_metadata else ""
        return generator_pb2.GenerateImageResponse(
            image=self._state.encoder.encode(result.pixels, params.image_format, text or None),
            mime_type=limits.MIME_TYPES[params.image_format],
            filename_hint=f"img-{params.seed}.{limits.EXTENSIONS[params.image_format]}",
            seed=params.seed,
            width=params.width,
            height=params.height,
            steps=params.steps,
            guidance_scale=params.guidance_scale,
            model_name=model.name,
            model_hash=(self._state.library.hash_of(model) if self._state.library else None) or "",
            demo_model=model.is_demo,
            generation_seconds=result.seconds,
            worker_id=self._state.worker_id,
            sampler=sampler_name(params),
            schedule_type=params.schedule_type,
            image_index=params.image_index,
            image_count=params.image_count,
            infotext=text,
            loras=[generator_pb2.LoraWeight(name=name, weight=weight) for name, weight in params.loras],
            denoising_strength=params.strength,
            mask_blur=params.mask_blur,
        )

    @grpc_errors
    def GenerateImage(
        self, request: generator_pb2.GenerateImageRequest, context: grpc.ServicerContext
    ) -> generator_pb2.GenerateImageResponse:
        """Check, enqueue, wait for the pixels, encode and answer."""
        model, (job,) = self._submit(request, context, stream=False)
        return self._response(model, job.params, job.result())

    @grpc_errors
    def GenerateImageStream(
        self, request: generator_pb2.GenerateImageRequest, context: grpc.ServicerContext
    ) -> Iterator[generator_pb2.GenerateImageEvent]:
        """The same generation, reported as it goes: queued, started, progress with previews, a result per image."""
        model, jobs = self._submit(request, context, stream=True)
        for job in jobs:
            for event in job.iter_events():
                # The request's first image speaks for its place in the queue and its start.
                if job is jobs[0] or isinstance(event, Step):
                    yield _event_message(event, job.params)
            yield generator_pb2.GenerateImageEvent(result=self._response(model, job.params, job.result()))

    @grpc_errors
    def GetModelInfo(
        self, request: generator_pb2.GetModelInfoRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelInfo:
        """Describe the default model and its defaults."""
        library, models, engine = self._state.ready()
        model = library.default
        defaults = models.defaults_of(model)
        return generator_pb2.ModelInfo(
            model_name=model.name,
            demo_model=model.is_demo,
            device=self._state.device,
            dtype=self._state.dtype,
            default_width=defaults.width,
            default_height=defaults.height,
            default_steps=defaults.steps,
            default_guidance_scale=defaults.guidance_scale,
            queue_capacity=engine.capacity,
            queue_length=engine.queue_length,
            worker_id=self._state.worker_id,
            default_sampler=defaults.sampler or "",
            max_count=self._state.max_count,
            description=models.description_of(model),
        )

    @grpc_errors
    def ListModels(
        self, request: generator_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelList:
        """The model library as scanned."""
        return self._state.model_list()

    @grpc_errors
    def ListLoras(
        self, request: generator_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> generator_pb2.LoraList:
        """The LoRAs of the library's loras/ folder."""
        library, _, _ = self._state.ready()
        listed = [
            generator_pb2.LibraryLora(
                name=lora.name, alias=lora.alias, hash=library.lora_hash_of(lora) or "", path=lora.relative
            )
            for lora in library.loras()
        ]
        return generator_pb2.LoraList(loras=listed)

    @grpc_errors
    def RefreshModels(
        self, request: generator_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelList:
        """Scan the library again and answer the new list."""
        library, _, _ = self._state.ready()
        library.refresh()
        return self._state.model_list()

    @grpc_errors
    def SetDefaultModel(
        self, request: generator_pb2.SetDefaultModelRequest, context: grpc.ServicerContext
    ) -> generator_pb2.ModelList:
        """Make a listed model the default for requests without `model`."""
        library, _, _ = self._state.ready()
        if library.set_default(request.name) is None:
            raise InvalidRequest(limits.not_listed("name", request.name, MODELS_LISTED_BY))
        log.info("default model is now %s", request.name)
        return self._state.model_list()


def _event_message(event: JobEvent, params: GenerationParams) -> generator_pb2.GenerateImageEvent:
    """The wire form of an engine event; previews are encoded here, off the engine thread."""
    match event:
        case Queued(position, queue_length):
            return generator_pb2.GenerateImageEvent(
                queued=generator_pb2.Queued(position=position, queue_length=queue_length)
            )
        case Started(queued_seconds):
            return generator_pb2.GenerateImageEvent(
                started=generator_pb2.Started(
                    seed=params.seed,
                    width=params.width,
                    height=params.height,
                    steps=params.steps,
                    guidance_scale=params.guidance_scale,
                    queued_seconds=queued_seconds,
                    sampler=sampler_name(params),
                    schedule_type=params.schedule_type,
                    count=params.image_count,
                )
            )
        case Step(step, total_steps, seconds_per_step, preview):
            progress = generator_pb2.Progress(
                step=step,
                total_steps=total_steps,
                seconds_per_step=seconds_per_step,
                image_index=params.image_index,
                image_count=params.image_count,
            )
            if preview is not None:
                progress.preview = encode_preview(preview)
                progress.preview_mime_type = PREVIEW_MIME_TYPE
            return generator_pb2.GenerateImageEvent(progress=progress)
