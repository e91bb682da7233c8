"""The first screen comes first: work that competes with the visible thumbnails for the CPU waits until
they are painted.

On a first open of a big RAW shoot, indexing hashes every file (48 MB each), and the canvas decodes the
first image in full (seconds of LibRaw); on two cores both took the CPU from the thumbnail threads and
the first screen needed ~1.3 s. Photo Mechanic's rule is that the thumbnails on screen come before
anything else, so `FirstScreen.after(key, fn)` holds such work until every visible cell shows its
thumbnail (or says why it cannot), and runs it at once when they already do. A fallback timer lets it
run anyway when nothing is visible to wait for (a hidden browser, an empty folder).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

FALLBACK_MS = 1500  # the longest deferred work ever waits, whatever the screen shows


class FirstScreen(QObject):
    """Tracks whether the open folder's first screen of thumbnails has been painted."""

    painted = Signal()

    def __init__(self, browser, parent: QObject | None = None):
        super().__init__(parent)
        self.browser = browser
        self.model = browser.source_model
        self.is_painted = True  # nothing open: nothing to wait for
        self._waiting: dict[Hashable, Callable[[], None]] = {}
        self._fallback = QTimer(self, singleShot=True, interval=FALLBACK_MS)
        self._fallback.timeout.connect(self._open_gate)
        self._check_soon = QTimer(self, singleShot=True, interval=0)  # once the view has laid out
        self._check_soon.timeout.connect(self._check)
        self.model.document.folder_opened.connect(self._folder_opened)
        self.model.document.folder_closed.connect(self._folder_closed)
        self.model.thumbnails_shown.connect(lambda _count: self._check())

    def after(self, key: Hashable, fn: Callable[[], None]) -> None:
        """Run `fn` now if the first screen is painted, else once it is (latest `fn` per key wins)."""
        if self.is_painted:
            fn()
        else:
            self._waiting[key] = fn

    def stop(self) -> None:
        """The window is closing: drop what waits, stop the timers."""
        self._folder_closed()
        self._check_soon.stop()

    def _folder_opened(self, _folder: Path) -> None:
        self.is_painted = False
        self._fallback.start()
        self._check_soon.start()

    def _folder_closed(self) -> None:
        self._waiting.clear()  # work for the folder that closed never runs
        self._fallback.stop()
        self.is_painted = True

    def _check(self) -> None:
        if self.is_painted:
            return
        if not self.browser.isVisible() or not self.model.document.images:
            self._open_gate()  # nothing on screen to give way to
            return
        rows = self.browser.visible_rows()
        images = self.model.document.images
        if rows and all(self.model.has_arrived(images[row].path) for row in rows if row < len(images)):
            self._open_gate()

    def _open_gate(self) -> None:
        if self.is_painted:
            return
        self.is_painted = True
        self._fallback.stop()
        waiting, self._waiting = self._waiting, {}
        for fn in waiting.values():
            fn()
        self.painted.emit()
