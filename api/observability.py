"""What operators see: the Prometheus metrics of /metrics and the log format (text or JSON, with the request id)."""

import logging
from typing import Final

from fastapi import FastAPI
from prometheus_client import Counter
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from api.request_id import RequestIdFilter

# One generation takes from under a second (demo model, small) to minutes (SDXL on a CPU); the instrumentator's
# default buckets (0.1, 0.5, 1) would put every generation in +Inf.
LATENCY_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)

# prometheus-client's default registry: one set per process, as /metrics serves it (process_* included).
# The HTTP metrics are made here once, not by each Instrumentator: a second app in the process (tests) would
# otherwise find the names taken, and the instrumentator then records nothing for it.
HTTP_METRICS: Final = metrics.default(latency_lowr_buckets=LATENCY_BUCKETS)
WORKER_ERRORS: Final = Counter(
    "imggen_api_worker_errors",
    "Generations the worker failed, by gRPC status code (e.g. RESOURCE_EXHAUSTED).",
    ["code"],
)
RATE_LIMITED: Final = Counter(
    "imggen_api_rate_limited",
    "Requests refused with 429 rate_limited (API_RATE_LIMIT_PER_MINUTE), by route.",
    ["route"],
)
AUTH_FAILURES: Final = Counter(
    "imggen_api_auth_failures",
    "Requests refused with 401: no API key (missing) or not a known one (invalid).",
    ["reason"],
)

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS: Final = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


def instrument(app: FastAPI) -> None:
    """Adds the middleware that counts requests by route, method and status, and times and sizes them.

    Its position among the middleware decides what it sees: create_app calls it where 401, 413, 429 and the
    last-resort 500 are all inside it.
    """
    Instrumentator(
        # Exact statuses: 429 (queue full or rate limited) and 503 (worker down) are what operators alert on.
        should_group_status_codes=False,
        # Unknown paths count under handler "none": a scanner must not create a series per path it tries.
        should_group_untemplated=True,
    ).add(HTTP_METRICS).instrument(app)


def configure_logging(level: str, log_format: str) -> None:
    """One handler on the root logger for the gateway, uvicorn and its access log, each line with the request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    # uvicorn puts an ANSI-coloured copy of each message in `color_message`; a log collector wants none.
    json_formatter = JsonFormatter(JSON_FIELDS, reserved_attrs=[*RESERVED_ATTRS, "color_message"])
    handler.setFormatter(json_formatter if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
