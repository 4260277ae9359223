"""The real `python -m worker` logs what a person or a log collector can use: JSON when asked, no noise."""

import json

import grpc
from genproto import generator_pb2, generator_pb2_grpc

from scripts.devstack import start_worker


def test_worker_log_format_json_writes_one_object_per_line_and_no_library_noise() -> None:
    worker = start_worker("json-logs", WORKER_LOG_FORMAT="json")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{worker.port}") as channel:
            stub = generator_pb2_grpc.ImageServiceStub(channel)
            stub.GenerateImage(generator_pb2.GenerateImageRequest(positive_prompt="a cat", width=64, height=64))
    finally:
        worker.stop()
    lines = [line for line in worker.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    assert all({"asctime", "levelname", "name", "message"} <= record.keys() for record in records)
    messages = [record["message"] for record in records]
    assert any(message.startswith("SERVING ") for message in messages)
    # A start says what a user needs; a library's advice to install torchvision is not that.
    assert not any("torchvision" in message for message in messages), messages
