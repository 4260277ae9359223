"""The worker's closed set of errors, each carrying the gRPC status it is answered with."""

import grpc


class WorkerError(Exception):
    """An error a caller may see: a gRPC status code and a message naming what was wrong."""

    code = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # Seconds after which a retry may succeed; sent as the `retry-after` trailing metadata when set.
        self.retry_after: int | None = None


class InvalidRequest(WorkerError):
    """A value the pipeline cannot take."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class QueueFull(WorkerError):
    """The bounded queue has no room; the caller should retry later."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class OutOfMemory(WorkerError):
    """The device ran out of memory for this request; the worker freed it and keeps serving."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class NotReady(WorkerError):
    """The worker is loading, warming up or draining."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlinePassed(WorkerError):
    """The caller's deadline passed before the job could start."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Cancelled(WorkerError):
    """The caller went away; the job was dropped or stopped at the next denoising step."""

    code = grpc.StatusCode.CANCELLED
