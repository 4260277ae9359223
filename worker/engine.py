"""The engine: one thread owns the pipeline and runs queued jobs one at a time."""

# docs/architecture.md, section "The GPU is one serial resource".

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

from worker import metrics
from worker.errors import Cancelled, DeadlinePassed, Draining, OutOfMemory, QueueFull, WorkerError
from worker.params import GenerationParams
from worker.previews import StepLatents
from worker.text_to_image import Pixels, StepHook, batch_key

log = logging.getLogger(__name__)

# What the engine thread runs for a batch: params (same batch_key) and a per-step hook in, pixels out.
RunFn = Callable[[list[GenerationParams], StepHook], list[Pixels]]
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
    # The gateway's X-Request-Id, so the worker's log lines can be matched to the HTTP request.
    request_id: str = ""
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

    def __init__(
        self,
        run: RunFn,
        capacity: int,
        preview_every: int = 5,
        max_batch: int = 1,
        batch_wait: float = 0.0,
        key: Callable[[GenerationParams], object] = batch_key,
    ) -> None:
        self._run = run
        # Jobs with equal keys may share one run (TextToImage.batch_key adds the prompts' chunk counts).
        self._key = key
        self.capacity = capacity
        self.preview_every = preview_every
        self.max_batch = max_batch
        self.batch_wait = batch_wait
        self.mean_job_seconds = 0.0
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition()
        self._running: list[Job] = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)

    def start(self) -> None:
        """Start the engine thread."""
        self._thread.start()

    def submit(
        self, params: GenerationParams, deadline: float | None = None, *, stream: bool = False, request_id: str = ""
    ) -> Job:
        """Queue a job, or raise QueueFull / NotReady at once: a caller never waits to be refused."""
        return self.submit_all([params], deadline, stream=stream, request_id=request_id)[0]

    def submit_all(
        self,
        images: list[GenerationParams],
        deadline: float | None = None,
        *,
        stream: bool = False,
        request_id: str = "",
    ) -> list[Job]:
        """Queue one job per image of a request, all or none: a request is never left half in the queue."""
        jobs = [Job(p, deadline, events=queue.SimpleQueue() if stream else None, request_id=request_id) for p in images]
        with self._cond:
            if self._closed:
                raise Draining("the worker is shutting down and takes no new requests")
            if len(self._jobs) + len(jobs) > self.capacity:
                first = len(self._jobs) + 1
                place = f"number {first}" if len(jobs) == 1 else f"{len(jobs)} images from number {first}"
                error = QueueFull(
                    f"the worker's queue is full: this request would be {place} in a queue of {self.capacity}; "
                    "retry later"
                )
                error.retry_after = self._retry_after_locked()
                raise error
            self._jobs.extend(jobs)
            self._post_positions_locked()
            self._cond.notify_all()
        return jobs

    def cancel(self, job: Job) -> None:
        """Cancel a job: a queued one leaves the queue at once, a running one stops at its next step."""
        job.cancelled.set()
        with self._cond:
            if job in self._jobs:
                self._jobs.remove(job)
                self._post_positions_locked()
                self._cond.notify_all()
                log.info("cancelled while queued: %s", _describe(job))
                metrics.CANCELLED.labels(where="queued").inc()
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
            while self._jobs or self._running:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _retry_after_locked(self) -> int:
        """Seconds until the jobs waiting now have run, from the measured seconds per job."""
        return max(1, math.ceil(len(self._jobs) * self.mean_job_seconds))

    def _post_positions_locked(self) -> None:
        metrics.QUEUE_LENGTH.set(len(self._jobs))
        for index, job in enumerate(self._jobs):
            if job.events is not None and job.last_position != index + 1:
                job.last_position = index + 1
                job._post(Queued(index + 1, len(self._jobs)))

    def _next(self) -> list[Job] | None:
        """The next batch: the oldest job, and queued jobs that can share its pipeline call (dynamic batching)."""
        with self._cond:
            while not self._jobs:
                if self._closed:
                    return None
                self._cond.wait()
            if self.max_batch > 1 and self.batch_wait > 0:
                # A short window for companions to arrive: latency traded for throughput, bounded by the setting.
                window_end = time.monotonic() + self.batch_wait
                while len(self._jobs) < self.max_batch and (left := window_end - time.monotonic()) > 0:
                    self._cond.wait(left)
            head = self._jobs.popleft()
            batch = [head]
            for job in list(self._jobs):
                if len(batch) >= self.max_batch:
                    break
                if self._key(job.params) == self._key(head.params):
                    self._jobs.remove(job)
                    batch.append(job)
            self._running = batch
            self._post_positions_locked()
            return batch

    def _loop(self) -> None:
        while (batch := self._next()) is not None:
            try:
                self._execute(batch)
            finally:
                with self._cond:
                    self._running = []
                    self._cond.notify_all()

    def _execute(self, batch: list[Job]) -> None:
        """Run one batch and settle each job; no error escapes, so the thread outlives every job."""
        now = time.monotonic()
        runnable = []
        for job in batch:
            if job.deadline is not None and now >= job.deadline:
                job._finish(DeadlinePassed("the request's deadline passed while it waited in the queue"))
            elif job.cancelled.is_set():
                job._finish(Cancelled("the request was cancelled while queued"))
            else:
                runnable.append(job)
        if not runnable:
            return
        started = time.perf_counter()
        for job in runnable:
            metrics.QUEUE_WAIT.observe(now - job.enqueued_at)
            job._post(Started(now - job.enqueued_at))
        described = "; ".join(_describe(job) for job in runnable)
        try:
            images = self._run([job.params for job in runnable], self._step_hook(runnable, started))
        except WorkerError as exc:
            if isinstance(exc, Cancelled):
                log.info("cancelled after %.2fs: %s", time.perf_counter() - started, described)
                metrics.CANCELLED.labels(where="running").inc(len(runnable))
            for job in runnable:
                job._finish(exc)
            return
        except torch.OutOfMemoryError:
            error: Exception = self._recover_from_oom(runnable)
        except Exception as exc:
            log.exception("generation failed: %s", described)
            error = exc
        else:
            seconds = time.perf_counter() - started
            _observe_batch(runnable, seconds)
            per_image = seconds / len(runnable)
            smoothing = _JOB_SECONDS_SMOOTHING if self.mean_job_seconds else 1.0
            self.mean_job_seconds += smoothing * (per_image - self.mean_job_seconds)
            for job, pixels in zip(runnable, images, strict=True):
                if job.cancelled.is_set():  # its batch companions kept the pipeline running
                    log.info("cancelled after %.2fs: %s", seconds, _describe(job))
                    metrics.CANCELLED.labels(where="running").inc()
                    job._finish(Cancelled("the request was cancelled"))
                else:
                    job._finish(GenerationResult(pixels, seconds))
            return
        for job in runnable:
            job._finish(error)

    def _step_hook(self, batch: list[Job], started: float) -> StepHook:
        """Called by the pipeline after each step: stops a cancelled batch, reports progress to streamed jobs."""
        # From an init image only about steps x strength steps run: progress counts those.
        total = batch[0].params.run_steps

        def on_step(step: int, latents: StepLatents) -> None:
            # A batch stops when every job in it is cancelled; one cancelled job alone rides along.
            if all(job.cancelled.is_set() for job in batch):
                raise Cancelled("the request was cancelled")
            # Never on the last step: the finished image follows at once.
            wants_preview = self.preview_every > 0 and step % self.preview_every == 0 and step < total
            seconds_per_step = (time.perf_counter() - started) / step
            for index, job in enumerate(batch):
                if job.events is not None and not job.cancelled.is_set():
                    preview = latents.preview_of(index) if wants_preview else None
                    job._post(Step(step, total, seconds_per_step, preview))

        return on_step

    @staticmethod
    def _recover_from_oom(batch: list[Job]) -> OutOfMemory:
        """Free what the failed generation held, so the next request finds the memory again."""
        metrics.OUT_OF_MEMORY.inc()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        params = batch[0].params
        log.warning("out of memory: %s (batch of %d)", _describe(batch[0]), len(batch))
        return OutOfMemory(
            f"out of memory generating {params.width}x{params.height} in {params.steps} steps; "
            "try a smaller size (the worker freed the memory and keeps serving)"
        )


def _observe_batch(batch: list[Job], seconds: float) -> None:
    metrics.GENERATION.observe(seconds)
    metrics.STEPS_PER_SECOND.set(batch[0].params.steps / seconds)
    for job in batch:
        metrics.IMAGES.labels(size=f"{job.params.width}x{job.params.height}").inc()
    if torch.cuda.is_available():
        metrics.CUDA_PEAK_MEMORY.set(torch.cuda.max_memory_allocated())


def _describe(job: Job) -> str:
    params = job.params
    described = f"{params.width}x{params.height}, {params.steps} steps, seed {params.seed}"
    return f"{described}, request {job.request_id}" if job.request_id else described
