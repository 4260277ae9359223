"""The worker's closed set of errors, each carrying the gRPC status it is answered with."""

import grpc
from genproto.reasons import Reason


class WorkerError(Exception):
    """An error a caller may see: a gRPC status code and a message naming what was wrong."""

    code = grpc.StatusCode.INTERNAL
    reason = Reason.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # Seconds after which a retry may succeed; sent as the `retry-after` trailing metadata when set.
        self.retry_after: int | None = None


class InvalidRequest(WorkerError):
    """A value the pipeline cannot take."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = Reason.INVALID_VALUE


class QueueFull(WorkerError):
    """The bounded queue has no room; the caller should retry later."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = Reason.QUEUE_FULL


class OutOfMemory(WorkerError):
    """The device ran out of memory for this request; the worker freed it and keeps serving."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = Reason.OUT_OF_MEMORY


class NotReady(WorkerError):
    """The worker is loading, warming up or draining."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = Reason.NOT_READY


class DeadlinePassed(WorkerError):
    """The caller's deadline passed before the job could start."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = Reason.DEADLINE_EXCEEDED


class Cancelled(WorkerError):
    """The caller went away; the job was dropped or stopped at the next denoising step."""

    code = grpc.StatusCode.CANCELLED
    reason = Reason.CANCELLED


class Draining(NotReady):
    """The worker is shutting down: it finishes what it accepted and takes nothing new."""

    reason = Reason.DRAINING
