"""Where the workers are: one host:port, a DNS name that resolves to every replica, or a static address list."""

import asyncio
import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Final, Literal

from genproto import channel

FORMS: Final = (
    "host:port, dns:///name:port (every address the name resolves to), "
    "ipv4:10.0.0.1:50051,10.0.0.2:50051, ipv6:[::1]:50051, or a comma list of ip:port"
)
_FAMILY_NAMES: Final = {"ipv4": "IPv4", "ipv6": "IPv6"}
IMAGE_SERVICE: Final = channel.SERVICE_NAME

# gRPC caps maxAttempts at 5; with backoffs of 0.05..0.4 s a request that every worker refuses is answered
# (429 or 503) within about 0.75 s more than without retries.
MAX_ATTEMPTS: Final = 5


def service_config() -> str:
    """The channel's service config: round_robin over every address, retrying only refusals.

    Retrying UNAVAILABLE and RESOURCE_EXHAUSTED is safe because the worker answers them before a job starts
    (loading or draining; queue full: worker/engine.py submit), and gRPC never retries a call once the
    response headers arrived, i.e. once the worker sent an answer or an event. DEADLINE_EXCEEDED, INTERNAL
    and CANCELLED are not listed: those come from a job that ran, and running it again would double its GPU
    time for an answer that is likely the same.
    """
    policy = {
        "maxAttempts": MAX_ATTEMPTS,
        "initialBackoff": "0.05s",
        "maxBackoff": "0.4s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
    }
    return json.dumps(
        {
            # pick_first (the default) would send every request to the first address that connects.
            "loadBalancingConfig": [{"round_robin": {}}],
            # Every ImageService method (GenerateImage, GenerateImageStream, GetModelInfo); health is not in it.
            "methodConfig": [{"name": [{"service": IMAGE_SERVICE}], "retryPolicy": policy}],
        }
    )


@dataclass(frozen=True)
class WorkerTarget:
    """A parsed RPC_TARGET (or RPC_PEER:RPC_PORT): what the balanced channel dials and how to list its workers."""

    # The gRPC target of the balanced channel, e.g. "dns:///worker:50051" or "ipv4:10.0.0.1:50051,10.0.0.2:50051".
    grpc_target: str
    # single: one host:port (a name resolves as gRPC's dns resolver does, but counts as one worker);
    # dns: every address the name resolves to is a worker; static: the addresses as given.
    kind: Literal["single", "dns", "static"]
    # single and static: each worker's host:port, dialled on its own for /ready; dns: empty (resolved per check).
    addresses: tuple[str, ...] = ()
    # dns: the name and port to resolve.
    host: str = ""
    port: int = 0

    async def resolve(self) -> list[str]:
        """Each worker's host:port now: resolved with the event loop's getaddrinfo for dns, as given otherwise."""
        if self.kind != "dns":
            return list(self.addresses)
        infos = await asyncio.get_running_loop().getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        # dict keeps getaddrinfo's order and drops the duplicates some resolvers return (one per protocol).
        return list(dict.fromkeys(join_host_port(str(info[4][0]), self.port) for info in infos))


def join_host_port(host: str, port: int) -> str:
    """host:port, with an IPv6 literal in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_host_port(text: str) -> tuple[str, int]:
    """("10.0.0.1", 50051) from "10.0.0.1:50051"; an IPv6 host is bracketed: "[::1]:50051"."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text.strip()!r} has no port: write host:port, e.g. worker:50051")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text.strip()!r}: the port must be a number from 1 to 65535 (got {port_text!r})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text.strip()!r}: put an IPv6 address in brackets, e.g. [::1]:50051")
    return host, int(port_text)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _static(entries: list[str], scheme: str | None) -> WorkerTarget:
    """A static list: IP literals of one family, dialled as gRPC's ipv4: or ipv6: multi-address target."""
    parsed = [_split_host_port(entry) for entry in entries if entry.strip()]
    if not parsed:
        raise ValueError(f"the list of workers is empty; write {FORMS}")
    versions = set()
    for host, _ in parsed:
        ip = _ip(host)
        if ip is None:
            # gRPC has no static resolver for names; one dns:/// name per replica set is how names balance.
            raise ValueError(
                f"{host!r} is not an IP address: a list takes IP addresses (gRPC resolves no names in it); "
                "for a name that resolves to every worker write dns:///name:port"
            )
        versions.add(ip.version)
    if len(versions) > 1:
        raise ValueError("a list mixes IPv4 and IPv6 addresses; gRPC's ipv4: and ipv6: targets take one family")
    family = f"ipv{versions.pop()}"
    if scheme is not None and scheme != family:
        raise ValueError(f"{scheme}: takes {_FAMILY_NAMES[scheme]} addresses (got {_FAMILY_NAMES[family]} ones)")
    addresses = tuple(join_host_port(host, port) for host, port in parsed)
    return WorkerTarget(f"{family}:{','.join(addresses)}", "static", addresses)


def parse_target(text: str) -> WorkerTarget:
    """The WorkerTarget for one of FORMS; ValueError naming the form that was expected otherwise."""
    text = text.strip()
    if not text:
        raise ValueError(f"the worker target is empty; write {FORMS}")
    scheme, _, rest = text.partition(":")
    if scheme == "dns":
        # dns:[//authority/]host:port; the authority is the DNS server, which gRPC's resolver may ignore.
        name = rest.split("/", 3)[3] if rest.startswith("//") and rest.count("/") >= 3 else rest
        if "," in name:
            raise ValueError("dns: takes one name; for several workers give the name all of them resolve to")
        host, port = _split_host_port(name)
        return WorkerTarget(f"dns:///{join_host_port(host, port)}", "dns", host=host, port=port)
    if scheme in ("ipv4", "ipv6"):
        return _static(rest.split(","), scheme)
    if "," in text:
        return _static(text.split(","), None)
    host, port = _split_host_port(text)
    address = join_host_port(host, port)
    return WorkerTarget(address, "single", (address,))
