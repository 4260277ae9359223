"""The engine: one thread owns the pipeline and runs queued jobs one at a time (DESIGN principle 1)."""

import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import torch

from worker.errors import Cancelled, DeadlinePassed, NotReady, OutOfMemory, QueueFull, WorkerError
from worker.params import GenerationParams
from worker.text_to_image import Pixels

log = logging.getLogger(__name__)

# What the engine thread runs for a job: params and a stop check in, pixels out.
RunFn = Callable[[GenerationParams, Callable[[], bool]], Pixels]


@dataclass(frozen=True)
class GenerationResult:
    """The pixels of one job and how long the pipeline ran for it."""

    pixels: Pixels
    seconds: float


@dataclass(eq=False)
class Job:
    """One queued generation; its future completes with a GenerationResult or a WorkerError."""

    params: GenerationParams
    deadline: float | None  # time.monotonic() value, None for no deadline
    future: "Future[GenerationResult]" = field(default_factory=Future)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def result(self) -> GenerationResult:
        """Block until the job is done; raises its WorkerError."""
        return self.future.result()


class Engine:
    """A bounded FIFO of jobs and the single thread that runs them."""

    def __init__(self, run: RunFn, capacity: int) -> None:
        self._run = run
        self.capacity = capacity
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition()
        self._running: Job | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)

    def start(self) -> None:
        """Start the engine thread."""
        self._thread.start()

    def submit(self, params: GenerationParams, deadline: float | None = None) -> Job:
        """Queue a job, or raise QueueFull / NotReady at once: a caller never waits to be refused."""
        job = Job(params, deadline)
        with self._cond:
            if self._closed:
                raise NotReady("the worker is shutting down and takes no new requests")
            if len(self._jobs) >= self.capacity:
                raise QueueFull(
                    f"the worker's queue is full ({len(self._jobs)} of {self.capacity} waiting); retry later"
                )
            self._jobs.append(job)
            self._cond.notify_all()
        return job

    def cancel(self, job: Job) -> None:
        """Cancel a job: a queued one leaves the queue at once, a running one stops at its next step."""
        job.cancelled.set()
        with self._cond:
            if job in self._jobs:
                self._jobs.remove(job)
                self._cond.notify_all()
                job.future.set_exception(Cancelled("the request was cancelled while queued"))

    @property
    def queue_length(self) -> int:
        """How many jobs wait (the running one excluded)."""
        with self._cond:
            return len(self._jobs)

    def close(self) -> None:
        """Refuse new jobs; queued and running ones still complete."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """After close(): wait until every accepted job is done; False if the timeout passed first."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._jobs or self._running is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _next(self) -> Job | None:
        with self._cond:
            while not self._jobs:
                if self._closed:
                    return None
                self._cond.wait()
            self._running = self._jobs.popleft()
            return self._running

    def _loop(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._execute(job)
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()

    def _execute(self, job: Job) -> None:
        """Run one job and settle its future; no error escapes, so the thread outlives every job."""
        if job.deadline is not None and time.monotonic() >= job.deadline:
            job.future.set_exception(DeadlinePassed("the request's deadline passed while it waited in the queue"))
            return
        if job.cancelled.is_set():
            job.future.set_exception(Cancelled("the request was cancelled while queued"))
            return
        started = time.perf_counter()
        try:
            pixels = self._run(job.params, job.cancelled.is_set)
        except WorkerError as exc:
            if isinstance(exc, Cancelled):
                log.info("cancelled after %.2fs: %s", time.perf_counter() - started, _describe(job.params))
            job.future.set_exception(exc)
        except torch.OutOfMemoryError:
            job.future.set_exception(self._recover_from_oom(job.params))
        except Exception as exc:
            log.exception("generation failed: %s", _describe(job.params))
            job.future.set_exception(exc)
        else:
            job.future.set_result(GenerationResult(pixels, time.perf_counter() - started))

    @staticmethod
    def _recover_from_oom(params: GenerationParams) -> OutOfMemory:
        """Free what the failed generation held, so the next request finds the memory again."""
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        log.warning("out of memory: %s", _describe(params))
        return OutOfMemory(
            f"out of memory generating {params.width}x{params.height} in {params.steps} steps; "
            "try a smaller size (the worker freed the memory and keeps serving)"
        )


def _describe(params: GenerationParams) -> str:
    return f"{params.width}x{params.height}, {params.steps} steps, seed {params.seed}"
