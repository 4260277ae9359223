"""The closed set of reasons the worker gives for an error, sent in the `error-reason` trailing metadata."""

from enum import StrEnum
from typing import Final

# docs/architecture.md, section "One error path": the gateway maps these, never the message text. Several share
# one gRPC status (queue full and out of memory are both RESOURCE_EXHAUSTED), which is why they exist.
METADATA_KEY: Final = "error-reason"
# Seconds after which a retry may succeed, sent beside a queue_full reason.
RETRY_AFTER_KEY: Final = "retry-after"


class Reason(StrEnum):
    """Why the worker refused or failed a request."""

    INVALID_VALUE = "invalid_value"
    QUEUE_FULL = "queue_full"
    OUT_OF_MEMORY = "out_of_memory"
    NOT_READY = "not_ready"
    DRAINING = "draining"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    CANCELLED = "cancelled"
    INTERNAL = "internal"
