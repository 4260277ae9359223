"""`python -m api`: serves the gateway with uvicorn on API_HOST:API_PORT."""

import logging
import sys

import uvicorn
from pydantic import ValidationError

from api.app import create_app
from api.settings import ApiSettings

log = logging.getLogger("api")


def load_settings() -> ApiSettings:
    """The settings, or exit 2 with one line per bad value instead of a traceback."""
    try:
        return ApiSettings()
    except ValidationError as error:
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]).upper()
            print(
                f"api: invalid setting {name}: {problem['msg']} (got {problem.get('input')})",
                file=sys.stderr,
            )
        raise SystemExit(2) from None


def main() -> None:
    """Runs the server until SIGINT/SIGTERM; uvicorn lets requests in flight finish."""
    settings = load_settings()
    level = settings.api_log_level.upper() if settings.api_log_level != "trace" else "DEBUG"
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    )


if __name__ == "__main__":
    main()
