"""The gRPC settings both ends must agree on: the service's name, the message size, keepalive timing."""

from typing import Final

from genproto import generator_pb2

# Health is reported for "" and for this name; the named one says the ImageService itself is up.
SERVICE_NAME: Final = generator_pb2.DESCRIPTOR.services_by_name["ImageService"].full_name
# The largest image (a 2048x2048 PNG of noise) passes 12 MiB; gRPC's default receive limit is 4 MiB.
MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
MESSAGE_SIZE_OPTIONS: Final = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
)
# The gateway pings every CLIENT_PING_MS, idle connections included, so a worker that vanished without closing
# its connection is found before a request is sent into it; the worker allows pings as often as
# SERVER_MIN_PING_MS (more often it would answer GOAWAY too_many_pings), so the first must not go below it.
CLIENT_PING_MS: Final = 30_000
CLIENT_PING_TIMEOUT_MS: Final = 10_000
SERVER_MIN_PING_MS: Final = 20_000
assert SERVER_MIN_PING_MS < CLIENT_PING_MS
