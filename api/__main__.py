"""`python -m api`: serves the gateway with uvicorn on API_HOST:API_PORT."""

import logging
import sys

import uvicorn
from pydantic import ValidationError

from api.app import create_app
from api.observability import configure_logging
from api.settings import SECRET_SETTINGS, ApiSettings

log = logging.getLogger("api")


def load_settings() -> ApiSettings:
    """The settings, or exit 2 with one line per bad value instead of a traceback."""
    try:
        return ApiSettings()
    except ValidationError as error:
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"])
            # An API key is never printed, not even a malformed one.
            got = "" if name.split(".")[0] in SECRET_SETTINGS else f" (got {problem.get('input')})"
            what = f"setting {name.upper()}" if name else "settings"  # a rule across settings has no one name
            print(f"api: invalid {what}: {problem['msg']}{got}", file=sys.stderr)
        raise SystemExit(2) from None


def main() -> None:
    """Runs the server until SIGINT/SIGTERM; uvicorn lets requests in flight finish."""
    settings = load_settings()
    level = settings.api_log_level.upper() if settings.api_log_level != "trace" else "DEBUG"
    configure_logging(level, settings.api_log_format)
    shown_host = "localhost" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    log.info(
        "api on http://%s:%d (docs at /docs), worker at %s",
        shown_host,
        settings.api_port,
        settings.worker_target,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.api_log_level,
        # None: uvicorn's loggers (its access log included) go through configure_logging's handler, so they
        # get the request id and the JSON format too. The access log names method, path and status only,
        # never a header, so an API key cannot reach it.
        log_config=None,
    )


if __name__ == "__main__":
    main()
