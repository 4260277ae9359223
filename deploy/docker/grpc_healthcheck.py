"""Exit 0 when the worker's gRPC health service reports SERVING, 1 otherwise: the image's HEALTHCHECK."""

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# The worker reports this name SERVING once its model is loaded and warmed up, NOT_SERVING while draining.
SERVICE = "generator.ImageService"


def main() -> int:
    """Asks 127.0.0.1:PY_PORT (the port the worker listens on in its container) within HEALTHCHECK_TIMEOUT."""
    target = f"127.0.0.1:{os.environ.get('PY_PORT') or '50051'}"
    timeout = float(os.environ.get("HEALTHCHECK_TIMEOUT") or "4")
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=timeout
            )
        except grpc.RpcError as error:
            print(f"{target}: {error.code().name}", file=sys.stderr)  # shown by `docker inspect`
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{target}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
