"""serve(): the gRPC server, health reporting, model load and warm-up, and draining on SIGTERM."""

import logging
import os
import signal
import sys
import threading
import time
from concurrent import futures
from types import FrameType

import grpc
import prometheus_client
import torch
from genproto import channel, generator_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pydantic import ValidationError
from pythonjsonlogger.json import JsonFormatter

from worker.checkpoint import CheckpointError
from worker.demo_model import DEMO_MODEL_NAME
from worker.encode import Encoder
from worker.engine import Engine
from worker.errors import InvalidRequest
from worker.model_library import ModelEntry, ModelLibrary
from worker.model_loader import LoadedModel, model_name, resolve_model_path
from worker.params import GenerationParams
from worker.resident_models import ResidentModels
from worker.servicer import ImageServicer, WorkerState
from worker.settings import WorkerSettings, describe_invalid_settings, library_dir, worker_name

log = logging.getLogger(__name__)

SERVICE_NAME = channel.SERVICE_NAME
GRPC_OPTIONS = [
    *channel.MESSAGE_SIZE_OPTIONS,
    # HTTP/2's largest frame (2^24-1) instead of 16 KiB: a 1.5 MB image is ~90 frames, not ~100 per MB.
    ("grpc.http2.max_frame_size", 2**24 - 1),
    # Keepalive that matches the gateway's (genproto.channel): its pings are welcome, idle connections
    # included, so a dead peer is found without a request failing on it.
    ("grpc.keepalive_time_ms", 2 * channel.CLIENT_PING_MS),
    ("grpc.keepalive_timeout_ms", 2 * channel.CLIENT_PING_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", channel.SERVER_MIN_PING_MS),
    ("grpc.http2.max_pings_without_data", 0),
    # Connections are renewed every 5 minutes (running calls get 10 more to finish), so a gateway balancing
    # over dns:/// resolves again and finds workers added since.
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 600_000),
]
# Handler threads beyond the queue: the running job, health checks, model info, and refusals.
SPARE_HANDLER_THREADS = 8


def set_health(servicer: health.HealthServicer, status: int) -> None:
    """Report `status` for the whole server and for generator.ImageService alike."""
    for name in ("", SERVICE_NAME):
        servicer.set(name, status)


def default_entry(settings: WorkerSettings) -> ModelEntry:
    """The model requests get without `model`: PY_MODEL_PATH's (by its library name when it is in the library)."""
    path = resolve_model_path(settings)
    if path is None:
        return ModelEntry(DEMO_MODEL_NAME, None, "demo")
    root = library_dir(settings).resolve()
    resolved = path.resolve()
    if resolved.is_relative_to(root):
        relative = resolved.relative_to(root)
        name = relative.as_posix() if resolved.is_dir() else relative.with_suffix("").as_posix()
    else:
        name = model_name(path)
    return ModelEntry(name, path, "folder" if path.is_dir() else "file")


def _warm_up(model: LoadedModel, engine: Engine) -> None:
    """One short generation through the engine, so the first real request pays no first-run costs."""
    d = model.defaults
    params = GenerationParams("warm-up", "", d.width, d.height, min(2, d.steps), d.guidance_scale, 0, model=model.name)
    started = time.perf_counter()
    engine.submit(params).result()
    log.info("warm-up generation took %.2fs", time.perf_counter() - started)


def build_server(settings: WorkerSettings, state: WorkerState, health_servicer: health.HealthServicer) -> grpc.Server:
    """The gRPC server with ImageService and Health, bound (TLS when configured) but not started."""
    handlers = settings.queue_size + SPARE_HANDLER_THREADS
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=handlers, thread_name_prefix="rpc"),
        options=GRPC_OPTIONS,
        # Beyond this many RPCs at once gRPC answers RESOURCE_EXHAUSTED itself: a flood cannot queue threads.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs or handlers,
    )
    generator_pb2_grpc.add_ImageServiceServicer_to_server(ImageServicer(state), server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = f"{settings.host}:{settings.port}"
    if settings.tls_cert is not None and settings.tls_key is not None:
        client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
        credentials = grpc.ssl_server_credentials(
            [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())],
            root_certificates=client_ca,
            # With a CA, only clients holding a certificate it signed get in (mTLS).
            require_client_auth=client_ca is not None,
        )
        bound = server.add_secure_port(address, credentials)
    else:
        bound = server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot listen on {address} (port in use?)")
    return server


def serve(settings: WorkerSettings) -> int:
    """Run the worker until SIGTERM/SIGINT; returns the process exit code."""
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    encoder = Encoder(settings.png_encoder, settings.png_compress_level, settings.lossy_quality)
    state = WorkerState(
        encoder, worker_name(settings), max_count=settings.max_count, image_metadata=settings.image_metadata
    )
    health_servicer = health.HealthServicer()
    set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    try:
        server = build_server(settings, state, health_servicer)
    except OSError as exc:
        log.error("%s", exc)
        return 1
    address = f"{settings.host}:{settings.port}"
    if settings.metrics_port:
        prometheus_client.start_http_server(settings.metrics_port, addr=settings.metrics_host)
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
    # Listen first: while the model loads, health answers NOT_SERVING instead of connection refused.
    server.start()
    log.info("listening on %s; loading the model", address)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: draining", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        library = ModelLibrary(library_dir(settings), default_entry(settings))
        models = ResidentModels(settings, library, settings.max_loaded_models, settings.prompt_cache_size)
        model = models.load(library.default)
    except (CheckpointError, InvalidRequest) as exc:
        log.error("cannot load the model: %s", exc)
        server.stop(0)
        return 1
    log.info("model library %s: %d models", library.root, len(library.entries()))
    engine = Engine(
        models.generate,
        settings.queue_size,
        preview_every=settings.preview_every_steps,
        max_batch=settings.max_batch,
        batch_wait=settings.batch_wait_ms / 1000,
        key=models.batch_key,
    )
    engine.start()
    if settings.warmup and not stop.is_set():
        _warm_up(model, engine)
    state.device, state.dtype = str(model.device), str(model.dtype).removeprefix("torch.")
    state.library, state.models, state.engine = library, models, engine
    del model  # the resident models own it: a switch must be able to free it
    if not stop.is_set():
        set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
        log.info("SERVING %s on %s", library.default.name, address)

    stop.wait()
    return _drain(settings, state, engine, health_servicer, server)


def _drain(
    settings: WorkerSettings,
    state: WorkerState,
    engine: Engine,
    health_servicer: health.HealthServicer,
    server: grpc.Server,
) -> int:
    """No new work; accepted work completes within the grace period; then the server stops."""
    state.draining.set()
    health_servicer.enter_graceful_shutdown()
    engine.close()
    grace = settings.drain_grace_seconds
    started = time.monotonic()
    if not engine.wait_idle(grace):
        log.warning("drain grace of %.0fs passed with work still running", grace)
    # The handlers still encoding and answering get what is left of the grace period.
    server.stop(max(0.0, grace - (time.monotonic() - started))).wait()
    log.info("stopped")
    return 0


def configure_logging(level: str, log_format: str) -> None:
    """Plain lines for a terminal, or one JSON object per line for a log collector (WORKER_LOG_FORMAT)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # Python warnings (a library's DeprecationWarning) become log records, so they are JSON lines too.
    logging.captureWarnings(True)


def main() -> None:
    """Entry point of `python -m worker`."""
    try:
        settings = WorkerSettings()
    except ValidationError as exc:
        print(describe_invalid_settings(exc), file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_level, settings.log_format)
    code = serve(settings)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is drained and stopped. Leaving through os._exit skips the native thread pools' static
    # destructors (gRPC's, torch's), which can abort at interpreter exit ("terminate called without an
    # active exception") and turn a clean drain into SIGABRT.
    os._exit(code)
