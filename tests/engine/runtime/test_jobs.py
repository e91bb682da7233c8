"""A job on its own: progress, events and exactly one outcome, errors as data."""

from __future__ import annotations

import pytest

from engine.runtime.jobs import Cancelled, EngineError, Failed, Job, JobCancelled, Succeeded


def test_progress_and_events_reach_the_watchers_before_the_outcome():
    log = []

    def work(ctx):
        ctx.progress(1, 2, "half")
        ctx.emit("an image")
        ctx.progress(2, 2)
        return "value"

    job = Job(work, name="w")
    job.add_progress_callback(lambda p: log.append(("progress", p.done, p.message)))
    job.add_event_callback(lambda e: log.append(("event", e)))
    job.add_done_callback(lambda j: log.append(("done", j.outcome)))
    job._run()
    assert log == [
        ("progress", 1, "half"),
        ("event", "an image"),
        ("progress", 2, ""),
        ("done", Succeeded("value")),
    ]
    assert job.last_progress.fraction == 1.0
    late = []
    job.add_done_callback(late.append)  # added after the end: called at once
    assert late == [job]


def test_a_cancelled_or_failed_job_says_so_and_result_raises():
    job = Job(lambda ctx: ctx.check_cancelled())
    job.cancel("user")
    job._run()
    assert job.outcome == Cancelled("user")
    with pytest.raises(JobCancelled):
        job.result(0)

    class Unfit(EngineError):
        exit_code = 2

    failing = Job(lambda ctx: (_ for _ in ()).throw(Unfit("bad input")))
    failing._run()
    outcome = failing.outcome
    assert isinstance(outcome, Failed) and outcome.exit_code == 2 and outcome.message == "bad input"
    assert "Unfit" in outcome.details
    with pytest.raises(Unfit):
        failing.result(0)
    assert not failing._finish(Succeeded(1))  # exactly one outcome
