"""The real gRPC server with a pipeline stand-in that fails on cue: OOM recovery, TLS and mTLS, metrics."""

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import torch
from genproto import generator_pb2, generator_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from scripts.devstack import free_port
from tests.stand_in_worker import black_images, issue_certificates, stand_in_worker
from worker.params import GenerationParams
from worker.settings import WorkerSettings
from worker.text_to_image import Pixels, StepHook

OOM_SEED = 13


def run_or_run_out_of_memory(batch: list[GenerationParams], on_step: StepHook) -> list[Pixels]:
    """The pipeline call, except that seed 13 runs out of device memory as a too-large image would."""
    if any(p.seed == OOM_SEED for p in batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
    return black_images(batch, on_step)


@pytest.fixture
def plain_worker() -> Iterator[int]:
    port = free_port()
    with stand_in_worker(
        WorkerSettings(PY_PORT=port, WORKER_HOST="127.0.0.1"), run_or_run_out_of_memory, "test-worker"
    ):
        yield port


def oom_count() -> float:
    return REGISTRY.get_sample_value("imggen_worker_out_of_memory_total") or 0.0


def test_out_of_memory_answers_that_request_clearly_and_the_next_succeeds(plain_worker: int) -> None:
    before = oom_count()
    with grpc.insecure_channel(f"127.0.0.1:{plain_worker}") as channel:
        stub = generator_pb2_grpc.ImageServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.GenerateImage(generator_pb2.GenerateImageRequest(positive_prompt="big", seed=OOM_SEED), timeout=10)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "out of memory generating 64x64" in raised.value.details()
        assert "keeps serving" in raised.value.details()
        refused = stub.GenerateImage.future(generator_pb2.GenerateImageRequest(positive_prompt="x", width=1001))
        with pytest.raises(grpc.RpcError) as invalid:
            refused.result(timeout=10)
        assert ("error-reason", "invalid_value") in tuple(invalid.value.trailing_metadata())
        # It ran, so the gateway's retry policy must not send it again (only a queue-full refusal is retried).
        trailing = tuple(raised.value.trailing_metadata())
        assert ("grpc-retry-pushback-ms", "-1") in trailing
        # The gateway tells it from a full queue (same status) by this reason alone.
        assert ("error-reason", "out_of_memory") in trailing
        reply = stub.GenerateImage(generator_pb2.GenerateImageRequest(positive_prompt="small", seed=1), timeout=10)
        assert reply.mime_type == "image/png" and reply.worker_id == "test-worker"
    assert oom_count() == before + 1  # the worker reports it on /metrics


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return issue_certificates(tmp_path_factory.mktemp("tls"), "localhost", "127.0.0.1")


def check_health(port: int, credentials: grpc.ChannelCredentials | None) -> bool:
    target = f"localhost:{port}"
    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    with channel:
        try:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            return True
        except grpc.RpcError:
            return False


def test_mtls_serves_only_clients_with_a_certificate_from_its_ca(certificates: dict[str, Path]) -> None:
    port = free_port()
    settings = WorkerSettings(
        PY_PORT=port,
        WORKER_HOST="127.0.0.1",
        WORKER_TLS_CERT=certificates["server_cert"],
        WORKER_TLS_KEY=certificates["server_key"],
        WORKER_TLS_CLIENT_CA=certificates["ca"],
    )
    ca = certificates["ca"].read_bytes()

    def client(name: str | None) -> grpc.ChannelCredentials:
        if name is None:
            return grpc.ssl_channel_credentials(root_certificates=ca)
        key, cert = certificates[f"{name}_key"].read_bytes(), certificates[f"{name}_cert"].read_bytes()
        return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)

    with stand_in_worker(settings):
        assert not check_health(port, None)  # plaintext
        assert not check_health(port, client(None))  # TLS without a client certificate
        assert not check_health(port, client("stranger"))  # a certificate from another CA
        assert check_health(port, client("client"))


def test_tls_settings_must_come_as_a_pair(certificates: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="go together"):
        WorkerSettings(WORKER_TLS_CERT=certificates["server_cert"])
