"""Jobs: a unit of engine work with progress, cooperative cancellation and exactly one outcome.

A job wraps a function `fn(ctx: JobContext) -> value`. The function reports progress with
`ctx.progress(...)`, hands out intermediate results with `ctx.emit(event)` (a generated image, a training
step), and calls `ctx.check_cancelled()` between steps. The job ends in exactly one outcome:
`Succeeded(value)`, `Cancelled(reason)`, or `Failed(...)` carrying the error as data, never raised
across threads.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from engine.runtime.errors import EngineError, as_engine_error, one_line  # EngineError: re-exported


class Priority(IntEnum):
    """Lower runs first: a click on the canvas jumps ahead of filtering a folder."""

    INTERACTIVE = 0
    NORMAL = 5
    BATCH = 10
    IDLE = 20  # work ahead (SAM embeddings of the next images): only when nothing else waits


class JobCancelled(Exception):
    """Raised inside a job by `JobContext.check_cancelled` once cancellation was requested."""


@dataclass(frozen=True)
class Progress:
    done: float
    total: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, self.done / self.total)


@dataclass(frozen=True)
class Succeeded:
    value: Any


@dataclass(frozen=True)
class Cancelled:
    reason: str = "cancelled"


@dataclass(frozen=True)
class Failed:
    message: str
    kind: str
    details: str = ""
    exit_code: int = 1
    exception: BaseException | None = field(default=None, compare=False, repr=False)


Outcome = Succeeded | Cancelled | Failed

_ids = itertools.count(1)


class JobContext:
    """What a running job sees: progress reporting and the cancellation flag."""

    def __init__(self, job: Job):
        self._job = job

    @property
    def cancelled(self) -> bool:
        return self._job.cancel_requested

    def check_cancelled(self) -> None:
        if self._job.cancel_requested:
            raise JobCancelled(self._job.cancel_reason)

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        self._job._emit_progress(Progress(done, total, message))

    def emit(self, event: Any) -> None:
        """An intermediate result for whoever watches the job (the GUI shows it while the job runs)."""
        self._job._emit_event(event)


class Job:
    """One piece of engine work. Create it, submit it to an `EngineWorker`, then wait or add callbacks.

    `key` groups jobs that supersede each other ("latest wins"): submitting a job with the same key
    cancels a still-pending one. Callbacks run on the worker thread; the GUI bridge moves them to Qt's.
    """

    def __init__(
        self,
        fn: Callable[[JobContext], Any],
        *,
        name: str = "",
        priority: Priority = Priority.NORMAL,
        key: Any = None,
    ):
        self.id = next(_ids)
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "job")
        self.priority = priority
        self.key = key
        self.cancel_reason = "cancelled"
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._outcome: Outcome | None = None
        self._done_callbacks: list[Callable[[Job], None]] = []
        self._progress_callbacks: list[Callable[[Progress], None]] = []
        self._event_callbacks: list[Callable[[Any], None]] = []
        self.last_progress: Progress | None = None

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.name!r} {type(self._outcome).__name__ if self._outcome else 'open'}>"

    # -- control ---------------------------------------------------------------------------------
    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the job to stop. A pending job never starts; a running one stops at its next check."""
        if not self._cancel.is_set():
            self.cancel_reason = reason
            self._cancel.set()

    # -- observation -----------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def outcome(self) -> Outcome | None:
        return self._outcome

    def wait(self, timeout: float | None = None) -> Outcome:
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.name!r} did not finish within {timeout} s")
        assert self._outcome is not None
        return self._outcome

    def result(self, timeout: float | None = None) -> Any:
        """The value, or raise: `JobCancelled` if cancelled, the original exception if it failed."""
        outcome = self.wait(timeout)
        if isinstance(outcome, Succeeded):
            return outcome.value
        if isinstance(outcome, Cancelled):
            raise JobCancelled(outcome.reason)
        raise outcome.exception or EngineError(outcome.message)

    def add_done_callback(self, callback: Callable[[Job], None]) -> None:
        with self._lock:
            if self._outcome is None:
                self._done_callbacks.append(callback)
                return
        callback(self)

    def add_progress_callback(self, callback: Callable[[Progress], None]) -> None:
        with self._lock:
            self._progress_callbacks.append(callback)

    def add_event_callback(self, callback: Callable[[Any], None]) -> None:
        with self._lock:
            self._event_callbacks.append(callback)

    # -- used by the worker ----------------------------------------------------------------------
    def _emit_progress(self, progress: Progress) -> None:
        self.last_progress = progress
        with self._lock:
            callbacks = list(self._progress_callbacks)
        for callback in callbacks:
            callback(progress)

    def _emit_event(self, event: Any) -> None:
        with self._lock:
            callbacks = list(self._event_callbacks)
        for callback in callbacks:
            callback(event)

    def _run(self) -> None:
        if self.cancel_requested:
            self._finish(Cancelled(self.cancel_reason))
            return
        try:
            value = self.fn(JobContext(self))
        except JobCancelled:
            self._finish(Cancelled(self.cancel_reason))
        except BaseException as error:  # errors cross threads as data
            self._finish(failure_from_exception(error))
        else:
            # A library call that ignored the flag (diffusers still decodes) must not leak a result.
            self._finish(Cancelled(self.cancel_reason) if self.cancel_requested else Succeeded(value))

    def _finish(self, outcome: Outcome) -> bool:
        with self._lock:
            if self._outcome is not None:
                return False
            self._outcome = outcome
            callbacks, self._done_callbacks = self._done_callbacks, []
        self._done.set()
        for callback in callbacks:
            callback(self)
        return True


def failure_from_exception(error: BaseException) -> Failed:
    kind = type(error).__name__
    named = as_engine_error(error)  # a full disk, a locked store, ... named in the engine's words
    message = one_line(str(named)) or kind
    if "OutOfMemoryError" in kind or isinstance(error, MemoryError):
        message = (
            f"Out of memory: {one_line(str(error)) or kind}. "
            "Close other programs, use a smaller size, or enable offloading."
        )
    return Failed(
        message=message,
        kind=kind,
        details="".join(traceback.format_exception(error)),
        exit_code=getattr(named, "exit_code", 1),
        exception=error,
    )
