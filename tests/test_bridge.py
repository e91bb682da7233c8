"""The GUI bridge: awaiting engine jobs under qasync keeps the UI thread ticking."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest
import qasync
import torch
from PySide6.QtCore import QTimer

from engine.runtime.jobs import Cancelled, Failed, Job, Priority, Succeeded
from gui.bridge import EngineBridge


@pytest.fixture
def bridge(qapp):
    bridge = EngineBridge()
    yield bridge
    assert bridge.shutdown(5)


@pytest.fixture
def loop(qapp):
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


def heavy_torch(ctx, seconds: float = 1.5):
    """CPU-heavy torch work in steps, as a model job is."""
    torch.manual_seed(0)
    a = torch.randn(384, 384)
    end = time.monotonic() + seconds
    steps = 0
    while time.monotonic() < end:
        ctx.check_cancelled()
        a = torch.tanh(a @ a)
        steps += 1
        ctx.progress(steps, None, f"step {steps}")
    return steps


def test_ui_thread_keeps_ticking_while_a_cpu_heavy_torch_job_runs(bridge, loop):
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    progress_threads = set()
    bridge.job_progress.connect(lambda job, p: progress_threads.add(threading.current_thread().name))

    async def scenario():
        timer.start()
        outcome = await bridge.run(Job(heavy_torch, name="matmuls"))
        timer.stop()
        return outcome

    started = time.monotonic()
    outcome = loop.run_until_complete(scenario())
    elapsed = time.monotonic() - started
    assert isinstance(outcome, Succeeded) and outcome.value > 0
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    worst_ms = max(gaps) * 1000
    gaps.sort()
    p99_ms = gaps[int(len(gaps) * 0.99) - 1] * 1000
    print(
        f"\nUI heartbeat during {elapsed:.2f} s of torch work: {len(ticks)} ticks, "
        f"p99 gap {p99_ms:.1f} ms, worst stall {worst_ms:.1f} ms"
    )
    # A blocked UI thread would show one gap as long as the whole job.
    assert len(ticks) > elapsed / 0.005 * 0.3
    assert worst_ms < 500
    assert progress_threads == {threading.main_thread().name}


def test_progress_is_throttled_and_errors_arrive_as_data(bridge, loop):
    seen = []
    bridge.job_progress.connect(lambda job, p: seen.append(p.done))

    def chatty(ctx):
        for i in range(2000):
            ctx.progress(i + 1, 2000)
        raise RuntimeError("model exploded")

    outcome = loop.run_until_complete(bridge.run(Job(chatty)))
    assert isinstance(outcome, Failed) and outcome.message == "model exploded"
    assert len(seen) < 200  # 2000 updates throttled to a few per 50 ms


def test_cancel_all_cancels_the_running_job_and_busy_goes_false(bridge, loop):
    busy = []
    bridge.busy_changed.connect(busy.append)

    async def scenario():
        task = asyncio.ensure_future(
            bridge.run(Job(lambda ctx: heavy_torch(ctx, 30), priority=Priority.BATCH))
        )
        await asyncio.sleep(0.2)
        bridge.cancel_all()
        return await task

    outcome = loop.run_until_complete(scenario())
    loop.run_until_complete(asyncio.sleep(0.05))
    assert isinstance(outcome, Cancelled)
    assert busy == [True, False]
