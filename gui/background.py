"""Plain background work for the GUI that is not a model job: decoding the full image, indexing a
folder, writing mask PNGs. Model work goes through gui/bridge.EngineBridge instead.

Results come back on the GUI thread through a queued signal, so callbacks may touch widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal


class Background(QObject):
    """`run(fn, done, failed)`: fn() on a pool thread, then done(value) or failed(error) on the GUI's."""

    _finished = Signal(object, object, object)  # callback, value, is_error

    def __init__(self, workers: int = 2, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gui-background")
        self._finished.connect(self._deliver)
        self._closed = False

    def run(
        self,
        fn: Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        def work() -> None:
            try:
                value = fn()
            except BaseException as error:  # delivered as data, never raised on the GUI thread
                self._emit(failed, error, True)
            else:
                self._emit(done, value, False)

        self._pool.submit(work)

    def _emit(self, callback, value, is_error: bool) -> None:
        if not self._closed and callback is not None:
            self._finished.emit(callback, value, is_error)

    def _deliver(self, callback, value, is_error: bool) -> None:
        if not self._closed:
            callback(value)

    def close(self, wait: bool = True) -> None:
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)


class MaskSaver:
    """Writes masks one at a time on its own thread; only the latest snapshot per image is written.

    A stroke commits → `schedule` (cheap); the PNG encode of a 24 MP mask happens here, off the UI thread.
    """

    def __init__(self, save: Callable[[str, Any], None], on_error: Callable[[str, BaseException], None]):
        self._save = save
        self._on_error = on_error
        self._pending: dict[str, Any] = {}
        self._condition = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mask-saver", daemon=True)
        self._thread.start()

    def schedule(self, image_id: str, snapshot: Any) -> None:
        with self._condition:
            self._pending[image_id] = snapshot
            self._condition.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything scheduled is on disk; False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self) -> None:
        self.flush()
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending or self._closed)
                if self._closed and not self._pending:
                    return
                image_id = next(iter(self._pending))
                snapshot = self._pending.pop(image_id)
                self._busy = True
            try:
                self._save(image_id, snapshot)
            except Exception as error:  # a full disk must not kill the saver; the user is told
                self._on_error(image_id, error)
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()
