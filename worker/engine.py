"""The engine: one thread owns the pipeline and runs queued jobs one at a time (DESIGN principle 1)."""

import gc
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

import torch

from worker.errors import Cancelled, DeadlinePassed, NotReady, OutOfMemory, QueueFull, WorkerError
from worker.params import GenerationParams
from worker.previews import latents_to_preview
from worker.text_to_image import Pixels, StepHook

log = logging.getLogger(__name__)

# What the engine thread runs for a job: params and a per-step hook in, pixels out.
RunFn = Callable[[GenerationParams, StepHook], Pixels]
# Weight of the newest job in the running mean of seconds per job (for Retry-After).
_JOB_SECONDS_SMOOTHING = 0.3


@dataclass(frozen=True)
class GenerationResult:
    """The pixels of one job and how long the pipeline ran for it."""

    pixels: Pixels
    seconds: float


@dataclass(frozen=True)
class Queued:
    """The job waits; position 1 is next to run."""

    position: int
    queue_length: int


@dataclass(frozen=True)
class Started:
    """The job left the queue after waiting queued_seconds."""

    queued_seconds: float


@dataclass(frozen=True)
class Step:
    """A denoising step ended; preview holds small RGB pixels every few steps."""

    step: int
    total_steps: int
    seconds_per_step: float
    preview: Pixels | None


JobEvent = Queued | Started | Step


@dataclass(eq=False)
class Job:
    """One queued generation; its future completes with a GenerationResult or a WorkerError."""

    params: GenerationParams
    deadline: float | None  # time.monotonic() value, None for no deadline
    # Only a streamed job has an event queue; an unary one costs nothing per step.
    events: "queue.SimpleQueue[JobEvent | None] | None" = None
    future: "Future[GenerationResult]" = field(default_factory=Future)
    cancelled: threading.Event = field(default_factory=threading.Event)
    enqueued_at: float = field(default_factory=time.monotonic)
    last_position: int = 0

    def result(self) -> GenerationResult:
        """Block until the job is done; raises its WorkerError."""
        return self.future.result()

    def iter_events(self) -> Iterator[JobEvent]:
        """The job's events as they happen, until it is done (streamed jobs only)."""
        assert self.events is not None
        while (event := self.events.get()) is not None:
            yield event

    def _post(self, event: JobEvent) -> None:
        if self.events is not None:
            self.events.put(event)

    def _finish(self, result: GenerationResult | BaseException) -> None:
        if isinstance(result, BaseException):
            self.future.set_exception(result)
        else:
            self.future.set_result(result)
        if self.events is not None:
            self.events.put(None)


class Engine:
    """A bounded FIFO of jobs and the single thread that runs them."""

    def __init__(self, run: RunFn, capacity: int, preview_every: int = 5) -> None:
        self._run = run
        self.capacity = capacity
        self.preview_every = preview_every
        self.mean_job_seconds = 0.0
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition()
        self._running: Job | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)

    def start(self) -> None:
        """Start the engine thread."""
        self._thread.start()

    def submit(self, params: GenerationParams, deadline: float | None = None, *, stream: bool = False) -> Job:
        """Queue a job, or raise QueueFull / NotReady at once: a caller never waits to be refused."""
        job = Job(params, deadline, events=queue.SimpleQueue() if stream else None)
        with self._cond:
            if self._closed:
                raise NotReady("the worker is shutting down and takes no new requests")
            if len(self._jobs) >= self.capacity:
                error = QueueFull(
                    f"the worker's queue is full: this request would be number {len(self._jobs) + 1} "
                    f"in a queue of {self.capacity}; retry later"
                )
                error.retry_after = self._retry_after_locked()
                raise error
            self._jobs.append(job)
            self._post_positions_locked()
            self._cond.notify_all()
        return job

    def cancel(self, job: Job) -> None:
        """Cancel a job: a queued one leaves the queue at once, a running one stops at its next step."""
        job.cancelled.set()
        with self._cond:
            if job in self._jobs:
                self._jobs.remove(job)
                self._post_positions_locked()
                self._cond.notify_all()
                log.info("cancelled while queued: %s", _describe(job.params))
                job._finish(Cancelled("the request was cancelled while queued"))

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

    def _retry_after_locked(self) -> int:
        """Seconds until the jobs waiting now have run, from the measured seconds per job."""
        return max(1, math.ceil(len(self._jobs) * self.mean_job_seconds))

    def _post_positions_locked(self) -> None:
        for index, job in enumerate(self._jobs):
            if job.events is not None and job.last_position != index + 1:
                job.last_position = index + 1
                job._post(Queued(index + 1, len(self._jobs)))

    def _next(self) -> Job | None:
        with self._cond:
            while not self._jobs:
                if self._closed:
                    return None
                self._cond.wait()
            self._running = self._jobs.popleft()
            self._post_positions_locked()
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
        """Run one job and settle it; no error escapes, so the thread outlives every job."""
        if job.deadline is not None and time.monotonic() >= job.deadline:
            job._finish(DeadlinePassed("the request's deadline passed while it waited in the queue"))
            return
        if job.cancelled.is_set():
            job._finish(Cancelled("the request was cancelled while queued"))
            return
        started = time.perf_counter()
        job._post(Started(time.monotonic() - job.enqueued_at))
        try:
            pixels = self._run(job.params, self._step_hook(job, started))
        except WorkerError as exc:
            if isinstance(exc, Cancelled):
                log.info("cancelled after %.2fs: %s", time.perf_counter() - started, _describe(job.params))
            job._finish(exc)
        except torch.OutOfMemoryError:
            job._finish(self._recover_from_oom(job.params))
        except Exception as exc:
            log.exception("generation failed: %s", _describe(job.params))
            job._finish(exc)
        else:
            seconds = time.perf_counter() - started
            smoothing = _JOB_SECONDS_SMOOTHING if self.mean_job_seconds else 1.0
            self.mean_job_seconds += smoothing * (seconds - self.mean_job_seconds)
            job._finish(GenerationResult(pixels, seconds))

    def _step_hook(self, job: Job, started: float) -> StepHook:
        """Called by the pipeline after each step: stops a cancelled job, reports progress for a streamed one."""
        total = job.params.steps

        def on_step(step: int, latents: torch.Tensor) -> None:
            if job.cancelled.is_set():
                raise Cancelled("the request was cancelled")
            if job.events is None:
                return
            # Never on the last step: the finished image follows at once.
            wants_preview = self.preview_every > 0 and step % self.preview_every == 0 and step < total
            preview = latents_to_preview(latents) if wants_preview else None
            job._post(Step(step, total, (time.perf_counter() - started) / step, preview))

        return on_step

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
