"""The worker's real gRPC server, queue and encoder around a pipeline stand-in; and test certificates for it."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import trustme
from grpc_health.v1 import health, health_pb2

from worker.encode import Encoder
from worker.engine import Engine, RunFn
from worker.model_library import ModelEntry, ModelLibrary
from worker.model_loader import Defaults
from worker.params import GenerationParams
from worker.previews import StepLatents
from worker.server import build_server, set_health
from worker.servicer import WorkerState
from worker.settings import WorkerSettings
from worker.text_to_image import Pixels, StepHook


class FixedModels:
    """The stand-in's one model in memory, with fixed defaults."""

    def __init__(self, defaults: Defaults) -> None:
        self.defaults = defaults

    def defaults_of(self, entry: ModelEntry) -> Defaults:
        return self.defaults

    def loaded_names(self) -> set[str]:
        return {"stand-in"}

    def description_of(self, entry: ModelEntry) -> str:
        return "a stand-in: black images"


def black_images(batch: list[GenerationParams], on_step: StepHook) -> list[Pixels]:
    """The pipeline's stand-in: one step reported, then black images of the requested sizes."""
    on_step(1, StepLatents(torch.zeros(len(batch), 4, 8, 8)))
    return [np.zeros((p.height, p.width, 3), dtype=np.uint8) for p in batch]


@contextmanager
def stand_in_worker(settings: WorkerSettings, run: RunFn = black_images, worker_id: str = "stand-in") -> Iterator[None]:
    """Serve generator.ImageService and Health (SERVING) on settings' port, TLS included, while the block runs."""
    state = WorkerState(Encoder(), worker_id)
    engine = Engine(run, capacity=4)
    engine.start()
    # No pipeline: the stand-in run function never touches it; 64x64 in 2 steps are the defaults it reports.
    stand_in = ModelEntry("stand-in", None, "demo")
    state.library = ModelLibrary(Path("/nonexistent"), stand_in, hashes=False)
    state.models = FixedModels(Defaults(64, 64, 2, 7.0))
    state.device, state.dtype = "cpu", "float32"
    state.engine = engine
    health_servicer = health.HealthServicer()
    set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    server = build_server(settings, state, health_servicer)
    server.start()
    try:
        yield
    finally:
        server.stop(0)
        engine.close()


def issue_certificates(folder: Path, *server_names: str) -> dict[str, Path]:
    """PEM files: `ca`; `server_cert`/`server_key` for server_names; `client_*` from the same CA; `stranger_*`
    from another CA."""
    ca, other_ca = trustme.CA(), trustme.CA()
    blobs = {"ca": ca.cert_pem}
    for name, issuer, identities in (
        ("server", ca, server_names),
        ("client", ca, ("api.internal",)),
        ("stranger", other_ca, ("api.internal",)),
    ):
        cert = issuer.issue_cert(*identities)
        blobs[f"{name}_cert"], blobs[f"{name}_key"] = cert.cert_chain_pems[0], cert.private_key_pem
    paths = {}
    for name, blob in blobs.items():
        paths[name] = folder / f"{name}.pem"
        blob.write_to_path(str(paths[name]))
    return paths
