"""The running A1111 jobs of each caller, in memory: what /progress reports and /interrupt and /skip stop."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import Request
from genproto import generator_pb2

from api.rate_limit import client_of
from api.worker_stream import WorkerStream


@dataclass
class Job:
    """One txt2img or img2img request: n_iter batches of batch_size images, one worker stream at a time."""

    batch_size: int
    n_iter: int
    started: float = field(default_factory=time.time)
    # The batch running now (A1111's job_no), and where its current image is.
    iteration: int = 0
    image_index: int = 0
    step: int = 0
    steps: int = 0
    preview: bytes | None = None
    interrupted: bool = False
    skipped: bool = False
    # The running batch's worker stream (its call changes if a queued job is sent to another worker).
    stream: WorkerStream | None = None

    @property
    def progress(self) -> float:
        """0 to 1 over all the job's images, as A1111's progress counts its batches."""
        done = self.iteration * self.batch_size + self.image_index + (self.step / self.steps if self.steps else 0)
        return min(1.0, done / (self.batch_size * self.n_iter))

    def on_progress(self, event: generator_pb2.Progress) -> None:
        """A step of the current image ended."""
        self.image_index, self.step, self.steps = event.image_index, event.step, event.total_steps
        if event.preview:
            self.preview = event.preview

    def stop(self, *, skip: bool) -> None:
        """Interrupt the job, or skip only its current batch; its running worker call is cancelled either way."""
        if skip:
            self.skipped = True
        else:
            self.interrupted = True
        if self.stream is not None:
            self.stream.cancel()


class Jobs:
    """Every caller's running jobs; one event loop touches them, so no lock."""

    def __init__(self) -> None:
        self._running: dict[str, list[Job]] = {}

    @contextmanager
    def running(self, client: str, job: Job) -> Iterator[Job]:
        """The job is the caller's while the block runs."""
        self._running.setdefault(client, []).append(job)
        try:
            yield job
        finally:
            jobs = self._running[client]
            jobs.remove(job)
            if not jobs:
                del self._running[client]

    def of(self, client: str) -> list[Job]:
        """The caller's running jobs, oldest first."""
        return list(self._running.get(client, ()))

    def stop(self, client: str, *, skip: bool) -> int:
        """Stop (or skip the current batch of) the caller's jobs only, unlike A1111's global interrupt (its #761)."""
        jobs = self.of(client)
        for job in jobs:
            job.stop(skip=skip)
        return len(jobs)


def jobs_of(request: Request) -> Jobs:
    """The app's registry, made on first use (the app has one; tests run several apps in one process)."""
    jobs: Jobs | None = getattr(request.app.state, "a1111_jobs", None)
    if jobs is None:
        jobs = request.app.state.a1111_jobs = Jobs()
    return jobs


def caller(request: Request) -> str:
    """Whose jobs these are: the API key's digest, or the client's address with keys off."""
    return client_of(request)[0]
