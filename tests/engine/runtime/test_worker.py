"""The engine thread (engine/runtime/worker.py): one job at a time, priorities, latest wins, cancellation
and exactly one outcome per job, without Qt."""

from __future__ import annotations

import threading

import pytest

from engine.runtime.jobs import Cancelled, EngineError, Failed, Job, JobCancelled, Priority, Succeeded
from engine.runtime.worker import EngineWorker


@pytest.fixture
def worker():
    w = EngineWorker()
    yield w
    assert w.shutdown(timeout=5)


def blocker():
    """A job that holds the worker until released, so others queue up behind it."""
    started, release = threading.Event(), threading.Event()

    def run(ctx):
        started.set()
        release.wait(5)
        return "blocker"

    return Job(run, name="blocker"), started, release


def test_a_job_returns_its_value_and_reports_progress(worker):
    seen = []

    def count(ctx):
        for i in range(3):
            ctx.progress(i + 1, 3, f"step {i + 1}")
        return 42

    job = Job(count)
    job.add_progress_callback(seen.append)
    assert worker.submit(job).wait(5) == Succeeded(42)
    assert [p.done for p in seen] == [1, 2, 3]
    assert seen[-1].fraction == 1.0 and seen[-1].message == "step 3"


def test_interactive_jobs_run_before_batch_jobs(worker):
    first, started, release = blocker()
    worker.submit(first)
    started.wait(5)
    order = []
    batch = [Job(lambda ctx, i=i: order.append(f"batch{i}"), priority=Priority.BATCH) for i in range(3)]
    for job in batch:
        worker.submit(job)
    click = worker.submit(Job(lambda ctx: order.append("click"), priority=Priority.INTERACTIVE))
    release.set()
    for job in [*batch, click]:
        job.wait(5)
    assert order == ["click", "batch0", "batch1", "batch2"]


def test_cancel_during_a_running_job_ends_it_cancelled(worker):
    reached = threading.Event()
    steps = []

    def long_job(ctx):
        for i in range(1000):
            ctx.check_cancelled()
            steps.append(i)
            reached.set()
            threading.Event().wait(0.005)
        return "finished"

    job = worker.submit(Job(long_job))
    reached.wait(5)
    job.cancel("user pressed Cancel")
    outcome = job.wait(5)
    assert outcome == Cancelled("user pressed Cancel")
    assert len(steps) < 1000
    with pytest.raises(JobCancelled):
        job.result()


def test_a_result_returned_after_cancel_is_dropped(worker):
    """A library call that ignores the flag (diffusers decodes anyway) must not deliver a result."""
    started = threading.Event()

    def ignores_flag(ctx):
        started.set()
        while not ctx.cancelled:
            threading.Event().wait(0.001)
        return "stale image"

    job = worker.submit(Job(ignores_flag))
    started.wait(5)
    job.cancel()
    assert isinstance(job.wait(5), Cancelled)


def test_an_exception_inside_a_job_is_carried_as_data(worker):
    def broken(ctx):
        raise ValueError("corrupt image header")

    job = worker.submit(Job(broken))
    outcome = job.wait(5)
    assert isinstance(outcome, Failed)
    assert outcome.kind == "ValueError" and outcome.message == "corrupt image header"
    assert "Traceback" in outcome.details
    # The worker survives and runs the next job.
    assert worker.submit(Job(lambda ctx: "next")).wait(5) == Succeeded("next")


def test_engine_errors_keep_their_exit_code(worker):
    class Missing(EngineError):
        exit_code = 3

    outcome = worker.submit(Job(lambda ctx: (_ for _ in ()).throw(Missing("no weights")))).wait(5)
    assert isinstance(outcome, Failed) and outcome.exit_code == 3


def test_latest_wins_a_newer_job_with_the_same_key_supersedes_a_pending_one(worker):
    first, started, release = blocker()
    worker.submit(first)
    started.wait(5)
    ran = []
    old = worker.submit(Job(lambda ctx: ran.append("old"), key=("click", "img1")))
    other = worker.submit(Job(lambda ctx: ran.append("other"), key=("click", "img2")))
    new = worker.submit(Job(lambda ctx: ran.append("new"), key=("click", "img1")))
    assert old.wait(1) == Cancelled("superseded")
    release.set()
    new.wait(5), other.wait(5)
    assert ran == ["other", "new"]


def test_every_job_ends_in_exactly_one_outcome(worker):
    outcomes = []
    first, _, release = blocker()
    jobs = [first] + [Job(lambda ctx, i=i: i, key=i % 3) for i in range(12)]
    for job in jobs:
        job.add_done_callback(lambda j: outcomes.append(j.id))
        worker.submit(job)
    jobs[5].cancel()
    release.set()
    for job in jobs:
        job.wait(5)
    assert sorted(outcomes) == sorted(j.id for j in jobs)


def test_shutdown_cancels_pending_and_running_jobs_and_stops_the_thread():
    worker = EngineWorker()
    running_started = threading.Event()

    def polite(ctx):
        running_started.set()
        while True:
            ctx.check_cancelled()
            threading.Event().wait(0.005)

    running = worker.submit(Job(polite))
    running_started.wait(5)
    pending = worker.submit(Job(lambda ctx: "never"))
    assert worker.shutdown(timeout=5)
    assert isinstance(running.outcome, Cancelled) and isinstance(pending.outcome, Cancelled)
    assert not worker.thread.is_alive()
    with pytest.raises(RuntimeError):
        worker.submit(Job(lambda ctx: None))
