"""The engine thread: runs model jobs one at a time, interactive ones first."""

from __future__ import annotations

import itertools
import queue
import threading
from typing import Any

from engine.runtime.jobs import Cancelled, Job

_STOP = object()


class EngineWorker:
    """One worker thread with a priority queue (a GPU does one thing well at a time).

    Jobs with a `key` supersede each other: submitting one cancels a pending job with the same key.
    """

    def __init__(self, name: str = "shootstudio-engine"):
        self._queue: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._pending_by_key: dict[Any, Job] = {}
        self._pending: set[Job] = set()
        self._current: Job | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def current_job(self) -> Job | None:
        return self._current

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def submit(self, job: Job) -> Job:
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine worker is shut down")
            if job.key is not None:
                older = self._pending_by_key.get(job.key)
                if older is not None:
                    self._drop_pending(older, "superseded")
                self._pending_by_key[job.key] = job
            self._pending.add(job)
            self._queue.put((int(job.priority), next(self._order), job))
        return job

    def cancel_all(self, reason: str = "cancelled") -> None:
        with self._lock:
            for job in list(self._pending):
                self._drop_pending(job, reason)
            if self._current is not None:
                self._current.cancel(reason)

    def shutdown(self, timeout: float | None = 10.0) -> bool:
        """Cancel everything, stop the thread; True when it stopped within `timeout`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put((-1, -1, _STOP))
        self.cancel_all("shutting down")
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _drop_pending(self, job: Job, reason: str) -> None:
        # Called with the lock held: the job never starts and ends Cancelled right away.
        job.cancel(reason)
        self._pending.discard(job)
        if job.key is not None and self._pending_by_key.get(job.key) is job:
            del self._pending_by_key[job.key]
        job._finish(Cancelled(reason))

    def _loop(self) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is _STOP:
                return
            with self._lock:
                if job not in self._pending:
                    continue  # already cancelled while pending
                self._pending.discard(job)
                if job.key is not None and self._pending_by_key.get(job.key) is job:
                    del self._pending_by_key[job.key]
                self._current = job
            try:
                job._run()
            finally:
                with self._lock:
                    self._current = None
