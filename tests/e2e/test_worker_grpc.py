"""The worker's gRPC contract, spoken to directly: the original two-field client, bad bytes, deadlines, cancels."""

import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
import pytest
from genproto import generator_pb2, generator_pb2_grpc
from grpc_tools import protoc

from scripts.devstack import Service
from tests.e2e.images import png_pixels

ORIGINAL_PROTO_DIR = Path(__file__).resolve().parent / "original"
METHOD = "/generator.ImageService/GenerateImage"


# A client of the original project, run in its own process: its stubs define the same message names as
# genproto's, and one process's descriptor pool holds each name once.
ORIGINAL_CLIENT = """
import sys
import grpc
import httpx
import generator_pb2, generator_pb2_grpc
with grpc.insecure_channel(sys.argv[1], options=[("grpc.max_receive_message_length", -1)]) as channel:
    stub = generator_pb2_grpc.ImageServiceStub(channel)
    request = generator_pb2.GenerateImageRequest(positive_prompt="a lighthouse", negative_prompt="blurry")
    reply = stub.GenerateImage(request)
with open(sys.argv[2], "wb") as out:
    out.write(reply.image)
print(reply.mime_type, reply.filename_hint)
"""


@pytest.fixture
def channel(worker: Service) -> grpc.Channel:
    with grpc.insecure_channel(f"127.0.0.1:{worker.port}", options=[("grpc.max_receive_message_length", -1)]) as ch:
        yield ch


def test_client_of_the_original_two_field_proto_gets_a_png(worker: Service, tmp_path: Path) -> None:
    args = ["protoc", f"-I{ORIGINAL_PROTO_DIR}", f"--python_out={tmp_path}", f"--grpc_python_out={tmp_path}"]
    assert protoc.main([*args, "generator.proto"]) == 0
    image = tmp_path / "out.png"
    done = subprocess.run(
        [sys.executable, "-c", ORIGINAL_CLIENT, f"127.0.0.1:{worker.port}", str(image)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    mime_type, filename_hint = done.stdout.split()
    assert mime_type == "image/png"
    assert filename_hint.endswith(".png")
    assert png_pixels(image.read_bytes()).shape == (256, 256, 3)  # the demo model's defaults


def test_undecodable_request_bytes_are_refused_and_the_worker_keeps_serving(channel: grpc.Channel) -> None:
    raw = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as raised:
        raw(b"\xff\xff\xff\xff not a protobuf message", timeout=10)
    assert raised.value.code() != grpc.StatusCode.OK
    stub = generator_pb2_grpc.ImageServiceStub(channel)
    ok = stub.GenerateImage(generator_pb2.GenerateImageRequest(positive_prompt="cat", width=64, height=64, steps=1))
    assert png_pixels(ok.image).shape == (64, 64, 3)


def test_request_whose_deadline_passes_while_queued_is_dropped(channel: grpc.Channel) -> None:
    stub = generator_pb2_grpc.ImageServiceStub(channel)
    slow = stub.GenerateImage.future(
        generator_pb2.GenerateImageRequest(positive_prompt="slow", width=512, height=512, steps=40)
    )
    time.sleep(0.3)  # let the slow one start
    with pytest.raises(grpc.RpcError) as raised:
        stub.GenerateImage(generator_pb2.GenerateImageRequest(positive_prompt="late", width=64, height=64), timeout=0.5)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert slow.result().width == 512


def test_cancelled_rpc_stops_its_generation_and_frees_the_worker(channel: grpc.Channel, worker: Service) -> None:
    stub = generator_pb2_grpc.ImageServiceStub(channel)
    quick = generator_pb2.GenerateImageRequest(positive_prompt="quick", width=64, height=64, steps=1, seed=1)
    stub.GenerateImage(quick)  # warm
    # About a minute of work on 2 CPU cores if it were not cancelled.
    long = stub.GenerateImage.future(
        generator_pb2.GenerateImageRequest(positive_prompt="long", width=1024, height=1024, steps=150)
    )
    time.sleep(1.0)
    long.cancel()
    started = time.monotonic()
    stub.GenerateImage(quick)
    assert time.monotonic() - started < 10, "the cancelled generation kept the engine busy"
    assert "cancelled after" in worker.log()


def test_metrics_port_reports_requests_generation_time_and_image_sizes(channel: grpc.Channel, worker: Service) -> None:
    stub = generator_pb2_grpc.ImageServiceStub(channel)
    stub.GenerateImage(generator_pb2.GenerateImageRequest(positive_prompt="cat", width=72, height=64, steps=1))
    page = httpx.get(f"http://127.0.0.1:{worker.env['WORKER_METRICS_PORT']}/metrics", timeout=10).text
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in page.splitlines()
        if line.startswith("imggen_worker_")
    }
    assert samples['imggen_worker_requests_total{code="OK",method="GenerateImage"}'] >= 1
    assert samples['imggen_worker_images_total{size="72x64"}'] == 1
    assert samples["imggen_worker_generation_seconds_count"] >= 1
    assert "imggen_worker_queue_length" in samples and "imggen_worker_steps_per_second" in samples
