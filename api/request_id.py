"""Request ids: taken from the client's X-Request-Id (when safe) or made, echoed back, logged, sent to the worker."""

import logging
import re
import uuid
from typing import Final

from asgi_correlation_id import correlation_id

HEADER: Final = "X-Request-Id"
# The worker reads this gRPC metadata key (worker/servicer.py REQUEST_ID_KEY) and logs it with the job.
GRPC_METADATA_KEY: Final = "x-request-id"
# Short and made of characters that need no escaping in a log line, a header or a JSON string: a client's id
# must not be able to forge log lines or grow them without bound. UUIDs, nginx's $request_id and W3C trace
# ids all fit.
_SAFE: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def is_safe(value: str) -> bool:
    """Whether a client's request id is used as it is (otherwise the gateway makes a new one)."""
    return _SAFE.fullmatch(value) is not None


def new_request_id() -> str:
    """A fresh id: 32 hex digits."""
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being served (a context variable, so tasks started by it see it too); "" outside."""
    return correlation_id.get() or ""


def grpc_metadata() -> tuple[tuple[str, str], ...]:
    """The metadata a worker call carries: the request id, so the worker's log lines name it too."""
    request_id = current_request_id()
    return ((GRPC_METADATA_KEY, request_id),) if request_id else ()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record a handler emits ("-" outside a request), for the log format to show."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True
