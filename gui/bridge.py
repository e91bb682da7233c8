"""The one place the GUI touches the engine thread.

`bridge.submit(job, on_done=..., on_progress=..., on_event=...)` queues a job made by the `Engine`
(engine/api) and calls each of that job's own callbacks on the UI thread: no panel listens to a
broadcast and picks out its jobs. Job callbacks fire on the engine thread; they are carried over with a
queued signal, so no engine code runs on the UI thread and no Qt code on the engine's. Progress is
throttled to what a person can see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from shiboken6 import isValid

from engine.api import Engine, Job, Outcome, Progress

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress updates a second per job reach the GUI


class EngineBridge(QObject):
    """Submit engine jobs from the GUI with per-job callbacks on the UI thread.

    The signals describe all jobs together, for the status bar's activity display only."""

    job_started = Signal(object)  # Job
    job_progress = Signal(object, object)  # Job, Progress
    busy_changed = Signal(bool)

    _deliver = Signal(object)  # a callable, emitted on the engine thread, called on the UI thread

    def __init__(self, engine: Engine, parent: QObject | None = None):
        super().__init__(parent)
        self.engine = engine
        self._open: set[Job] = set()
        self._deliver.connect(self._call)  # a slot of this UI-thread object: queued from other threads

    @property
    def busy(self) -> bool:
        return bool(self._open)

    def submit(
        self,
        job: Job,
        *,
        on_done: Callable[[Outcome], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_event: Callable[[Any], None] | None = None,
        owner: QObject | None = None,
    ) -> Job:
        """Queue `job`; its callbacks run on the UI thread (never after `owner` was deleted).

        `on_done(outcome)` runs exactly once, after the last progress and event callbacks."""

        def call(callback: Callable[..., None] | None, *args: Any) -> None:
            if callback is not None and (owner is None or isValid(owner)):
                callback(*args)

        last_progress = [0.0]

        def progress(value: Progress) -> None:  # engine thread
            now = time.monotonic()
            final = value.total is not None and value.done >= value.total
            if final or now - last_progress[0] >= PROGRESS_INTERVAL_S:
                last_progress[0] = now
                self._deliver.emit(lambda: self._progress(job, value, on_progress, call))

        def done(finished: Job) -> None:  # engine thread
            self._deliver.emit(lambda: self._finished(finished, on_done, call))

        was_busy = self.busy
        self._open.add(job)
        job.add_progress_callback(progress)
        if on_event is not None:
            job.add_event_callback(lambda event: self._deliver.emit(lambda: call(on_event, event)))
        job.add_done_callback(done)
        self.engine.submit(job)
        self.job_started.emit(job)
        if not was_busy:
            self.busy_changed.emit(True)
        return job

    async def run(self, job: Job) -> Outcome:
        """Submit `job` and await its outcome without blocking the Qt event loop (under qasync)."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.submit(job, on_done=lambda outcome: future.done() or future.set_result(outcome))
        return await future

    def cancel_all(self) -> None:
        self.engine.cancel_all()

    def shutdown(self, timeout: float = 10.0) -> bool:
        return self.engine.shutdown(timeout)

    # -- on the UI thread --------------------------------------------------------------------
    def _progress(self, job: Job, value: Progress, on_progress, call) -> None:
        if job.done:
            return  # a late update must not show after the end
        self.job_progress.emit(job, value)
        call(on_progress, value)

    def _finished(self, job: Job, on_done, call) -> None:
        self._open.discard(job)
        call(on_done, job.outcome)
        if not self.busy:
            self.busy_changed.emit(False)

    @Slot(object)
    def _call(self, callback: Callable[[], None]) -> None:
        callback()
