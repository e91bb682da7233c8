"""The GUI's door to the engine: each job's own callbacks arrive on the UI thread, in order, exactly once;
the UI thread keeps running while the engine computes; errors come back as data."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest
import qasync
import torch
from PySide6.QtCore import QObject, QTimer

from engine.api import Cancelled, Failed, Job, Priority, Succeeded


@pytest.fixture
def loop(qapp):
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


def heavy_torch(ctx, until: threading.Event, limit_s: float = 60.0):
    """CPU-heavy torch work in steps, as a model job is, until `until` is set (or the limit)."""
    torch.manual_seed(0)
    a = torch.randn(384, 384)
    steps, end = 0, time.monotonic() + limit_s
    while not until.is_set() and time.monotonic() < end:
        ctx.check_cancelled()
        a = torch.tanh(a @ a)
        steps += 1
        ctx.progress(steps, None, f"step {steps}")
    return steps


def test_the_ui_thread_keeps_ticking_while_a_cpu_heavy_torch_job_runs(bridge, loop):
    """The job runs until the UI has ticked 20 times: it can only succeed if the UI thread is free
    while it computes, however fast or slow the machine is."""
    ticks: list[float] = []
    enough = threading.Event()
    timer = QTimer()
    timer.setInterval(5)

    def tick() -> None:
        ticks.append(time.monotonic())
        if len(ticks) >= 20:
            enough.set()

    timer.timeout.connect(tick)
    progress_threads, started = set(), []

    async def scenario():
        timer.start()
        job = Job(lambda ctx: (started.append(len(ticks)), heavy_torch(ctx, enough))[1], name="matmuls")
        outcome = await asyncio.wrap_future(_future(bridge, job, progress_threads))
        timer.stop()
        return outcome

    outcome = loop.run_until_complete(scenario())
    assert isinstance(outcome, Succeeded) and outcome.value > 0
    assert enough.is_set(), "the UI thread did not tick while the job ran"
    assert started[0] < 20  # the job began before the 20th tick, so the rest came while it computed
    assert progress_threads == {threading.main_thread().name}
    gaps = sorted(b - a for a, b in itertools.pairwise(ticks))
    print(f"\nUI heartbeat: {len(ticks)} ticks, worst gap {gaps[-1] * 1000:.0f} ms (figures: benchmarks)")


def _future(bridge, job, progress_threads):
    """A concurrent future resolved by the job's on_done, recording where progress callbacks ran."""
    import concurrent.futures

    future: concurrent.futures.Future = concurrent.futures.Future()
    bridge.submit(
        job,
        on_progress=lambda p: progress_threads.add(threading.current_thread().name),
        on_done=future.set_result,
    )
    return future


def test_each_job_gets_its_own_callbacks_in_order_and_done_exactly_once(qtbot, bridge):
    log: dict[str, list] = {"a": [], "b": []}

    def work(name):
        def run(ctx):
            for i in range(3):
                ctx.emit(f"{name}-event-{i}")
                ctx.progress(i + 1, 3)
            return name

        return Job(run, name=name)

    for name in ("a", "b"):
        bridge.submit(
            work(name),
            on_event=lambda e, n=name: log[n].append(("event", e, threading.current_thread().name)),
            on_progress=lambda p, n=name: log[n].append(
                ("progress", p.done, threading.current_thread().name)
            ),
            on_done=lambda o, n=name: log[n].append(("done", o, threading.current_thread().name)),
        )
    qtbot.waitUntil(
        lambda: all(entries and entries[-1][0] == "done" for entries in log.values()), timeout=10000
    )
    for name, entries in log.items():
        assert {thread for *_, thread in entries} == {threading.main_thread().name}
        assert [e for kind, e, _ in entries if kind == "event"] == [f"{name}-event-{i}" for i in range(3)]
        assert [kind for kind, *_ in entries].count("done") == 1
        assert entries[-1][1] == Succeeded(name)  # done comes last, with this job's own value
    assert not bridge.busy


def test_progress_is_throttled_and_errors_arrive_as_data(bridge, loop):
    seen = []

    def chatty(ctx):
        for i in range(2000):
            ctx.progress(i + 1, 2000)
        raise RuntimeError("model exploded")

    job = Job(chatty)
    future = asyncio.wrap_future(_future(bridge, job, set()))
    bridge.job_progress.connect(lambda job, p: seen.append(p.done))
    outcome = loop.run_until_complete(future)
    assert isinstance(outcome, Failed) and outcome.message == "model exploded"
    assert len(seen) < 200  # 2000 updates throttled to a few per 50 ms


def test_callbacks_of_a_deleted_owner_are_not_called(qtbot, bridge):
    owner = QObject()
    release, calls = threading.Event(), []
    bridge.submit(Job(lambda ctx: release.wait(10)), on_done=calls.append, owner=owner)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not _alive(owner), timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: not bridge.busy, timeout=5000)
    assert calls == []


def _alive(obj) -> bool:
    from shiboken6 import isValid

    return isValid(obj)


def test_cancel_all_cancels_the_running_job_and_busy_goes_false(bridge, loop):
    busy, never = [], threading.Event()
    bridge.busy_changed.connect(busy.append)

    async def scenario():
        job = Job(lambda ctx: heavy_torch(ctx, never), priority=Priority.BATCH)
        task = asyncio.ensure_future(bridge.run(job))
        while job.last_progress is None:  # it is computing
            await asyncio.sleep(0.01)
        bridge.cancel_all()
        return await task

    outcome = loop.run_until_complete(scenario())
    loop.run_until_complete(asyncio.sleep(0.05))
    assert isinstance(outcome, Cancelled)
    assert busy == [True, False]
