"""Short background work for the GUI that is not a model job: indexing a folder, decoding the image under
review or a thumbnail, reading stored scores, writing masks and settings. Model work goes through
gui/bridge.py instead.

One rule replaces generation counters and locks in the panels: **latest wins by key**. A task submitted
with the key of a task still waiting replaces it (the older one never runs); the result of a running task
whose key was submitted again is dropped; and two tasks with the same key never run at the same time, so
an older write can never land after a newer one. Results come back on the UI thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot


@dataclass
class _Task:
    key: Hashable
    work: Callable[[_Task], Any]
    on_done: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None] | None
    on_item: Callable[[Any], None] | None = None

    superseded: bool = False


class BackgroundTasks(QObject):
    """`run(key, fn, on_done, on_error)`: fn() on a pool thread, then on_done(value) or on_error(error)
    on the UI thread, unless a newer task with the same key came meanwhile.

    `newest_first` serves the most recent request first (thumbnails: what the user scrolled to now);
    otherwise tasks start in the order they came."""

    _deliver = Signal(object)  # a callable, emitted on a pool thread, called on the UI thread

    def __init__(self, workers: int = 2, newest_first: bool = False, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gui-background")
        self._newest_first = newest_first
        self._lock = threading.Condition()
        self._pending: OrderedDict[Hashable, _Task] = OrderedDict()
        self._running: dict[Hashable, _Task] = {}
        self._closed = False
        self._deliver.connect(self._call)  # a slot of this UI-thread object: queued from other threads

    # -- submitting --------------------------------------------------------------------------
    def run(
        self,
        key: Hashable,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._submit(_Task(key, lambda task: fn(), on_done, on_error))

    def run_iter(
        self,
        key: Hashable,
        fn: Callable[[Callable[[], bool]], Iterator[Any]],
        on_item: Callable[[Any], None],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Like `run` for a generator: each item reaches `on_item` as it is produced. `fn(stopped)` may
        ask `stopped()` between steps; it turns true once a newer task with the same key came."""

        def work(task: _Task) -> None:
            stopped = lambda: task.superseded or self._closed  # noqa: E731
            for item in fn(stopped):
                if task.superseded or self._closed:
                    return
                self._emit(task, task.on_item, item)

        self._submit(_Task(key, work, on_done, on_error, on_item))

    def retain(self, keep: Callable[[Hashable], bool]) -> None:
        """Drop waiting tasks whose key `keep` rejects (thumbnails that scrolled out of view)."""
        with self._lock:
            for key in [k for k in self._pending if not keep(k)]:
                del self._pending[key]
            self._lock.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every task submitted so far has run (say, before the store they write closes)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending and not self._running, timeout)

    def close(self) -> None:
        """Finish the tasks that are running, drop the rest, and stop the threads."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._lock.notify_all()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- the pool ----------------------------------------------------------------------------
    def _submit(self, task: _Task) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending.pop(task.key, None)  # an older waiting task with this key never runs
            self._pending[task.key] = task
            running = self._running.get(task.key)
            if running is not None:
                running.superseded = True  # its result is dropped
        self._pool.submit(self._work)

    def _next(self) -> _Task | None:
        """The next task whose key is not running now (with the lock held)."""
        keys = reversed(self._pending) if self._newest_first else iter(self._pending)
        for key in keys:
            if key not in self._running:
                return self._pending.pop(key)
        return None

    def _work(self) -> None:
        with self._lock:
            task = self._next()
            if task is None or self._closed:
                return  # superseded, retained away, or waiting for its key's running task
            self._running[task.key] = task
        try:
            value = task.work(task)
        except BaseException as error:  # delivered as data, never raised on a pool thread
            self._emit(task, task.on_error, error)
        else:
            self._emit(task, task.on_done, value)
        finally:
            with self._lock:
                del self._running[task.key]
                more = task.key in self._pending  # a newer task waited for this one to end
                self._lock.notify_all()
            if more:
                self._pool.submit(self._work)

    def _emit(self, task: _Task, callback: Callable[[Any], None] | None, value: Any) -> None:
        if callback is None or task.superseded or self._closed:
            return

        def deliver() -> None:
            if not task.superseded and not self._closed:
                callback(value)

        self._deliver.emit(deliver)

    @Slot(object)
    def _call(self, callback: Callable[[], None]) -> None:
        callback()
