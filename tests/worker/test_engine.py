"""The engine's queue, cancellation, deadlines and OOM recovery, with a stand-in for the pipeline call."""

import threading
import time

import numpy as np
import pytest
import torch

from worker.engine import Engine, Queued, Started, Step
from worker.errors import Cancelled, DeadlinePassed, NotReady, OutOfMemory, QueueFull
from worker.params import GenerationParams
from worker.previews import StepLatents
from worker.text_to_image import Pixels, StepHook


def params(seed: int = 0) -> GenerationParams:
    return GenerationParams("a cat", "", 64, 64, 4, 7.0, seed)


class BlockingRun:
    """Runs jobs as the pipeline would: step by step, checking should_stop, until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.ran: list[int] = []
        self.steps_after_stop: list[int] = []

    def __call__(self, batch: list[GenerationParams], on_step: StepHook) -> list[Pixels]:
        self.ran.extend(p.seed for p in batch)
        self.started.set()
        step = 0
        while not self.release.wait(0.01):
            step += 1
            on_step(
                step, StepLatents(torch.zeros(len(batch), 4, 8, 8))
            )  # raises Cancelled when the batch was cancelled
        return [np.full((p.height, p.width, 3), p.seed, dtype=np.uint8) for p in batch]


@pytest.fixture
def run() -> BlockingRun:
    return BlockingRun()


@pytest.fixture
def engine(run: BlockingRun) -> Engine:
    engine = Engine(run, capacity=2)
    engine.start()
    yield engine
    run.release.set()
    engine.close()
    engine.wait_idle(5)


def test_engine_runs_jobs_in_order_on_one_thread(run: BlockingRun, engine: Engine) -> None:
    run.release.set()
    jobs = [engine.submit(params(seed)) for seed in (1, 2)]
    results = [job.result() for job in jobs]
    assert run.ran == [1, 2]
    assert [int(r.pixels[0, 0, 0]) for r in results] == [1, 2]
    assert all(r.seconds >= 0 for r in results)


def test_full_queue_is_refused_at_once_naming_the_queue_length(run: BlockingRun, engine: Engine) -> None:
    engine.submit(params(1))
    assert run.started.wait(5)  # job 1 runs; the queue is empty again
    engine.submit(params(2))
    engine.submit(params(3))
    started = time.monotonic()
    with pytest.raises(QueueFull, match=r"would be number 3 in a queue of 2") as refused:
        engine.submit(params(4))
    assert time.monotonic() - started < 0.5
    assert refused.value.retry_after is not None and refused.value.retry_after >= 1


def test_cancelled_queued_job_leaves_the_queue_at_once_and_never_runs(run: BlockingRun, engine: Engine) -> None:
    engine.submit(params(1))
    assert run.started.wait(5)
    queued = engine.submit(params(2))
    assert engine.queue_length == 1
    engine.cancel(queued)
    assert engine.queue_length == 0
    with pytest.raises(Cancelled):
        queued.result()
    run.release.set()
    engine.submit(params(3)).result()
    assert run.ran == [1, 3]


def test_cancelled_running_job_stops_and_frees_the_engine(run: BlockingRun, engine: Engine) -> None:
    running = engine.submit(params(1))
    assert run.started.wait(5)
    engine.cancel(running)
    with pytest.raises(Cancelled):
        running.result()
    run.release.set()
    assert engine.submit(params(2)).result().pixels[0, 0, 0] == 2


def test_job_whose_deadline_passed_while_queued_is_dropped_before_it_starts(run: BlockingRun, engine: Engine) -> None:
    engine.submit(params(1))
    assert run.started.wait(5)
    late = engine.submit(params(2), deadline=time.monotonic() + 0.05)
    time.sleep(0.1)
    run.release.set()
    with pytest.raises(DeadlinePassed, match="deadline passed while it waited"):
        late.result()
    assert run.ran == [1]


def test_closed_engine_refuses_new_jobs_but_finishes_accepted_ones(run: BlockingRun, engine: Engine) -> None:
    accepted = engine.submit(params(1))
    engine.close()
    with pytest.raises(NotReady, match="shutting down"):
        engine.submit(params(2))
    assert not engine.wait_idle(0.1)
    run.release.set()
    assert engine.wait_idle(5)
    assert accepted.result().pixels[0, 0, 0] == 1


def test_out_of_memory_answers_a_clear_error_and_the_next_job_runs() -> None:
    calls: list[int] = []

    def run(batch: list[GenerationParams], _on_step: StepHook) -> list[Pixels]:
        (p,) = batch
        calls.append(p.seed)
        if p.seed == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return [np.zeros((p.height, p.width, 3), dtype=np.uint8)]

    engine = Engine(run, capacity=4)
    engine.start()
    with pytest.raises(OutOfMemory, match=r"out of memory generating 64x64 .* keeps serving"):
        engine.submit(params(1)).result()
    assert engine.submit(params(2)).result().pixels.shape == (64, 64, 3)
    assert calls == [1, 2]
    engine.close()


def test_an_unexpected_error_fails_only_its_own_job() -> None:
    def run(batch: list[GenerationParams], _on_step: StepHook) -> list[Pixels]:
        (p,) = batch
        if p.seed == 1:
            raise RuntimeError("boom")
        return [np.zeros((p.height, p.width, 3), dtype=np.uint8)]

    engine = Engine(run, capacity=4)
    engine.start()
    with pytest.raises(RuntimeError, match="boom"):
        engine.submit(params(1)).result()
    assert engine.submit(params(2)).result().pixels.shape == (64, 64, 3)
    engine.close()


def test_streamed_job_reports_queue_positions_start_steps_and_previews() -> None:
    def run(batch: list[GenerationParams], on_step: StepHook) -> list[Pixels]:
        for step in range(1, batch[0].steps + 1):
            on_step(step, StepLatents(torch.randn(len(batch), 4, 16, 24)))
        return [np.zeros((p.height, p.width, 3), dtype=np.uint8) for p in batch]

    engine = Engine(run, capacity=4, preview_every=2)
    first = engine.submit(GenerationParams("a", "", 64, 64, 5, 7.0, 1), stream=True)
    second = engine.submit(GenerationParams("b", "", 64, 64, 5, 7.0, 2), stream=True)
    engine.start()
    first_events = list(first.iter_events())
    second_events = list(second.iter_events())
    engine.close()
    assert first_events[0] == Queued(position=1, queue_length=1)
    # The second moved from position 2 to 1 when the first left the queue.
    assert [e for e in second_events if isinstance(e, Queued)] == [Queued(2, 2), Queued(1, 1)]
    for events in (first_events, second_events):
        assert isinstance(next(e for e in events if not isinstance(e, Queued)), Started)
        steps = [e for e in events if isinstance(e, Step)]
        assert [s.step for s in steps] == [1, 2, 3, 4, 5]
        assert all(s.total_steps == 5 and s.seconds_per_step >= 0 for s in steps)
        # Previews every 2 steps, never on the last one; small RGB pixels from the latents.
        assert [s.step for s in steps if s.preview is not None] == [2, 4]
        assert steps[1].preview is not None and steps[1].preview.shape == (16, 24, 3)
    assert first.result().pixels.shape == (64, 64, 3)


def test_unary_job_computes_no_previews(monkeypatch: pytest.MonkeyPatch) -> None:
    previews: list[int] = []
    monkeypatch.setattr(StepLatents, "preview_of", lambda latents, index: previews.append(index))

    def run(batch: list[GenerationParams], on_step: StepHook) -> list[Pixels]:
        latents = StepLatents(torch.randn(len(batch), 4, 8, 8))
        for step in range(1, batch[0].steps + 1):
            on_step(step, latents)
        return [np.zeros((p.height, p.width, 3), dtype=np.uint8) for p in batch]

    engine = Engine(run, capacity=4, preview_every=1)
    engine.start()
    job = engine.submit(params(1))
    assert job.result().pixels.shape == (64, 64, 3)
    assert job.events is None and previews == []
    engine.close()


def test_queued_jobs_with_the_same_size_steps_and_guidance_run_as_one_batch() -> None:
    batches: list[list[int]] = []

    def run(batch: list[GenerationParams], _on_step: StepHook) -> list[Pixels]:
        batches.append([p.seed for p in batch])
        return [np.full((p.height, p.width, 3), p.seed, dtype=np.uint8) for p in batch]

    engine = Engine(run, capacity=8, max_batch=2)
    other_size = GenerationParams("b", "", 128, 64, 4, 7.0, 2)
    jobs = [engine.submit(params(1)), engine.submit(other_size), engine.submit(params(3)), engine.submit(params(4))]
    engine.start()
    results = [job.result() for job in jobs]
    engine.close()
    # The oldest job leads; companions with its key join up to max_batch; the other size waits its turn.
    assert batches == [[1, 3], [2], [4]]
    assert [int(r.pixels[0, 0, 0]) for r in results] == [1, 2, 3, 4]


def test_a_cancelled_job_in_a_batch_gets_cancelled_and_its_companions_their_images(run: BlockingRun) -> None:
    engine = Engine(run, capacity=8, max_batch=2)
    first, second = engine.submit(params(1)), engine.submit(params(2))
    engine.start()
    assert run.started.wait(5)
    engine.cancel(first)
    time.sleep(0.05)
    run.release.set()
    with pytest.raises(Cancelled):
        first.result()
    assert second.result().pixels[0, 0, 0] == 2
    engine.close()


def test_retry_after_is_the_waiting_jobs_times_the_measured_seconds_per_job(run: BlockingRun, engine: Engine) -> None:
    engine.mean_job_seconds = 2.5
    engine.submit(params(1))
    assert run.started.wait(5)
    engine.submit(params(2))
    engine.submit(params(3))
    with pytest.raises(QueueFull) as refused:
        engine.submit(params(4))
    assert refused.value.retry_after == 5  # 2 waiting x 2.5 s
