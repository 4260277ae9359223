"""RPC_TARGET: the forms it takes, what gRPC dials for each, and the settings that pick it."""

import asyncio
import json
import socket

import pytest
from pydantic import ValidationError

from api.settings import ApiSettings
from api.targets import MAX_ATTEMPTS, WorkerTarget, parse_target, service_config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RPC_TARGET", "RPC_PEER", "RPC_PORT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("worker:50051", WorkerTarget("worker:50051", "single", ("worker:50051",))),
        ("  10.0.0.7:6000 ", WorkerTarget("10.0.0.7:6000", "single", ("10.0.0.7:6000",))),
        ("[::1]:50051", WorkerTarget("[::1]:50051", "single", ("[::1]:50051",))),
        ("dns:///worker:50051", WorkerTarget("dns:///worker:50051", "dns", host="worker", port=50051)),
        ("dns:worker:50051", WorkerTarget("dns:///worker:50051", "dns", host="worker", port=50051)),
        ("dns://10.0.0.2/worker:7", WorkerTarget("dns:///worker:7", "dns", host="worker", port=7)),
        (
            "ipv4:10.0.0.1:50051,10.0.0.2:50052",
            WorkerTarget("ipv4:10.0.0.1:50051,10.0.0.2:50052", "static", ("10.0.0.1:50051", "10.0.0.2:50052")),
        ),
        (
            "10.0.0.1:50051, 10.0.0.2:50051",
            WorkerTarget("ipv4:10.0.0.1:50051,10.0.0.2:50051", "static", ("10.0.0.1:50051", "10.0.0.2:50051")),
        ),
        (
            "ipv6:[::1]:1,[fe80::1]:2",
            WorkerTarget("ipv6:[::1]:1,[fe80::1]:2", "static", ("[::1]:1", "[fe80::1]:2")),
        ),
        ("[::1]:1,[::2]:2", WorkerTarget("ipv6:[::1]:1,[::2]:2", "static", ("[::1]:1", "[::2]:2"))),
    ],
)
def test_parse_target_accepts_every_documented_form(text: str, expected: WorkerTarget) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the worker target is empty"),
        ("worker", "has no port"),
        ("worker:http", "the port must be a number from 1 to 65535"),
        ("worker:0", "the port must be a number from 1 to 65535"),
        ("::1:50051", "put an IPv6 address in brackets"),
        ("dns:///worker", "has no port"),
        ("dns:///a:1,b:2", "dns: takes one name"),
        ("worker-1:50051,worker-2:50051", "'worker-1' is not an IP address"),
        ("ipv4:10.0.0.1:1,[::1]:2", "mixes IPv4 and IPv6"),
        ("ipv4:[::1]:2", "ipv4: takes IPv4 addresses (got IPv6 ones)"),
        ("ipv4:", "the list of workers is empty"),
    ],
)
def test_parse_target_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_target(text)


def test_rpc_target_wins_over_rpc_peer_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPC_PEER", "elsewhere")
    monkeypatch.setenv("RPC_TARGET", "dns:///worker:50051")
    settings = ApiSettings(_env_file=None)
    assert settings.worker_target == "dns:///worker:50051"
    assert settings.workers.kind == "dns"


def test_without_rpc_target_the_one_worker_is_rpc_peer_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPC_PEER", "worker")
    monkeypatch.setenv("RPC_PORT", "6000")
    assert ApiSettings(_env_file=None).workers == WorkerTarget("worker:6000", "single", ("worker:6000",))


def test_an_ipv6_rpc_peer_is_bracketed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPC_PEER", "::1")
    assert ApiSettings(_env_file=None).worker_target == "[::1]:50051"


def test_an_invalid_rpc_target_stops_the_settings_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RPC_TARGET", "worker-1:50051,worker-2:50051")
    with pytest.raises(ValidationError, match="dns:///name:port"):
        ApiSettings(_env_file=None)


def test_service_config_balances_round_robin_and_retries_only_refusals() -> None:
    config = json.loads(service_config())
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    (method,) = config["methodConfig"]
    assert method["name"] == [{"service": "generator.ImageService"}]
    policy = method["retryPolicy"]
    # What a job that ran answers (DEADLINE_EXCEEDED, INTERNAL, CANCELLED, ...) must never be retried.
    assert sorted(policy["retryableStatusCodes"]) == ["RESOURCE_EXHAUSTED", "UNAVAILABLE"]
    assert policy["maxAttempts"] == MAX_ATTEMPTS <= 5  # gRPC ignores more than 5


def test_a_dns_target_resolves_to_every_address_of_the_name() -> None:
    expected = {
        f"[{info[4][0]}]:7000" if info[0] == socket.AF_INET6 else f"{info[4][0]}:7000"
        for info in socket.getaddrinfo("localhost", 7000, type=socket.SOCK_STREAM)
    }
    resolved = asyncio.run(parse_target("dns:///localhost:7000").resolve())
    assert sorted(resolved) == sorted(expected)
    assert "127.0.0.1:7000" in resolved


def test_a_static_target_resolves_to_its_addresses_as_given() -> None:
    target = parse_target("ipv4:10.0.0.1:1,10.0.0.2:2")
    assert asyncio.run(target.resolve()) == ["10.0.0.1:1", "10.0.0.2:2"]
