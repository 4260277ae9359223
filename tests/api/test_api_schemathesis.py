"""schemathesis against the gateway's OpenAPI schema: every route, a bounded deterministic run, no 5xx, answers
that conform to the schema, and every 4xx an {error, message} body.

The app runs in-process (ASGI) against the FAKE worker of tests/api/fakes.py, a real gRPC server that answers at
once: with the real worker, each random valid request (up to 2048x2048, 150 steps) would take minutes.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from api.problems import ErrorCode
from tests.api.fakes import free_port, settings_for, start_fake_worker

# Per operation; with derandomize the same cases run every time (a failure is reproducible, CI is stable).
MAX_EXAMPLES = 30
CASES: dict[str, int] = {}


def native_error_body(body: Any) -> None:
    """The native error body: a known code and a message, nothing else."""
    assert isinstance(body, dict) and set(body) == {"error", "message"}, body
    assert body["error"] in {code.value for code in ErrorCode}, body
    assert isinstance(body["message"], str) and body["message"], body


def openai_error_body(body: Any) -> None:
    """OpenAI's error body: {"error": {message, type, param, code}}, the code a known one."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}, body
    assert isinstance(error["message"], str) and error["message"], body
    assert error["type"] in {"invalid_request_error", "requests", "server_error"}, body
    assert error["param"] is None or isinstance(error["param"], str), body
    assert error["code"] in {code.value for code in ErrorCode}, body


def a1111_error_body(body: Any) -> None:
    """A1111's api middleware shape: the native code in `error`, the message in `detail` (and `errors`)."""
    assert isinstance(body, dict) and set(body) == {"error", "detail", "body", "errors"}, body
    assert body["error"] in {code.value for code in ErrorCode}, body
    assert isinstance(body["detail"], str) and body["detail"] and body["errors"] == body["detail"], body


# Path prefix → the error body a dialect's clients read (its own shape); every other path: the native one.
DIALECT_ERROR_BODIES: dict[str, Callable[[Any], None]] = {
    "/v1/": openai_error_body,
    "/sdapi/v1/": a1111_error_body,
}


@schemathesis.check
def errors_have_a_code_and_a_message(ctx: Any, response: Any, case: Case[Any]) -> None:
    """Every 4xx is the documented error body of its dialect."""
    if 400 <= response.status_code < 500:
        prefix = next((p for p in DIALECT_ERROR_BODIES if case.path.startswith(p)), None)
        check = DIALECT_ERROR_BODIES[prefix] if prefix is not None else native_error_body
        check(response.json())


# The schema is read when the module is collected (schemathesis parametrizes by operation), from the app itself;
# the fake worker it talks to starts only when the tests run (the gRPC channel connects on the first call).
WORKER_PORT = free_port()
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings_for(WORKER_PORT)))


@pytest.fixture(scope="module", autouse=True)
def fake_worker_on_the_apps_port() -> Iterator[None]:
    worker = start_fake_worker(WORKER_PORT)
    yield
    worker.server.stop(grace=None)
    print(f"\nschemathesis cases: {sum(CASES.values())} ({CASES})")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_schema(case: Case[Any]) -> None:
    CASES[f"{case.method} {case.path}"] = CASES.get(f"{case.method} {case.path}", 0) + 1
    # Which model names exist is the worker's library, not the schema: any other name is rightly a 422.
    state_dependent = [positive_data_acceptance] if case.path == "/models/default" else []
    case.call_and_validate(excluded_checks=state_dependent)
