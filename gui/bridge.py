"""The one place the GUI touches the engine thread: jobs become Qt signals and awaitables.

Job callbacks fire on the engine thread. Signals emitted there reach slots of objects living on the GUI
thread through queued connections, and `run()` resolves its asyncio future with
`loop.call_soon_threadsafe`, so no engine code ever runs on the GUI thread and no Qt code on the engine's.
"""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QObject, Signal

from engine.runtime.jobs import Job, Outcome, Progress
from engine.runtime.worker import EngineWorker

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress updates a second per job reach the GUI


class EngineBridge(QObject):
    """Submit jobs from the GUI; observe them as signals on the GUI thread."""

    job_started = Signal(object)  # Job
    job_progress = Signal(object, object)  # Job, Progress
    job_finished = Signal(object)  # Job (its .outcome is set)
    busy_changed = Signal(bool)

    def __init__(self, worker: EngineWorker | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker or EngineWorker()
        self._open_jobs: set[Job] = set()
        self._last_progress: dict[int, float] = {}
        self._from_worker_progress.connect(self._relay_progress)
        self._from_worker_finished.connect(self._relay_finished)

    # Emitted on the engine thread; connected to slots of this GUI-thread object, so delivery is queued.
    _from_worker_progress = Signal(object, object)
    _from_worker_finished = Signal(object)

    @property
    def busy(self) -> bool:
        return bool(self._open_jobs)

    def submit(self, job: Job) -> Job:
        """Queue `job` on the engine thread; its progress and end arrive as signals."""
        was_busy = self.busy
        self._open_jobs.add(job)
        job.add_progress_callback(lambda progress: self._throttled_progress(job, progress))
        job.add_done_callback(self._from_worker_finished.emit)
        self.worker.submit(job)
        self.job_started.emit(job)
        if not was_busy:
            self.busy_changed.emit(True)
        return job

    async def run(self, job: Job) -> Outcome:
        """Submit `job` and await its outcome without blocking the Qt event loop (under qasync)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()

        def resolve(finished: Job) -> None:
            if not future.done():
                future.set_result(finished.outcome)

        job.add_done_callback(lambda finished: loop.call_soon_threadsafe(resolve, finished))
        self.submit(job)
        return await future

    def cancel_all(self) -> None:
        self.worker.cancel_all()

    def shutdown(self, timeout: float = 10.0) -> bool:
        return self.worker.shutdown(timeout)

    def _throttled_progress(self, job: Job, progress: Progress) -> None:
        now = time.monotonic()
        final = progress.total is not None and progress.done >= progress.total
        if final or now - self._last_progress.get(job.id, 0.0) >= PROGRESS_INTERVAL_S:
            self._last_progress[job.id] = now
            self._from_worker_progress.emit(job, progress)

    def _relay_progress(self, job: Job, progress: Progress) -> None:
        if not job.done:
            self.job_progress.emit(job, progress)

    def _relay_finished(self, job: Job) -> None:
        self._open_jobs.discard(job)
        self._last_progress.pop(job.id, None)
        self.job_finished.emit(job)
        if not self.busy:
            self.busy_changed.emit(False)
