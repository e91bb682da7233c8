"""Edit → Undo / Redo for the whole desk: mask edits (the document's per-image history), flag changes
(P / X / U) and any change recorded with `record(label, undo, redo)` (ratings, colour labels), undone in
the order they were made.

The mask history lives with the image under review (engine/project/document.py); flags are saved to the
store at once, so undoing one writes the old flags back through the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.project.document import ShootDocument


@dataclass(frozen=True)
class FlagChange:
    rows: tuple[int, ...]
    before: tuple[str | None, ...]
    after: str | None


MASK = "mask"  # a marker: the document's own history holds the step


@dataclass(frozen=True)
class Change:
    """Any other undoable desk change (a rating, a colour label, ...): how to undo and redo it."""

    label: str
    undo: Callable[[], None]
    redo: Callable[[], None]


class DeskUndo:
    """One undo order over flag changes and the current image's mask steps."""

    def __init__(self, document: ShootDocument):
        self.document = document
        self._done: list[FlagChange | Change | str] = []
        self._undone: list[FlagChange | Change | str] = []
        self._replaying = False
        document.mask_committed.connect(self._mask_committed)
        document.review_changed.connect(self._review_changed)
        document.folder_closed.connect(self.clear)

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()

    def set_flag(self, rows: list[int], flag: str | None) -> None:
        before = tuple(self.document.images[row].flag for row in rows)
        self.document.set_flag(rows, flag)
        self._done.append(FlagChange(tuple(rows), before, flag))
        self._undone.clear()

    def set_rating(self, rows: list[int], rating: int) -> None:
        """0-5 stars on `rows`, undoable (each row gets its own stars back)."""
        document, rows = self.document, list(rows)
        before = [(row, document.images[row].rating) for row in rows]
        document.set_rating(rows, rating)
        self.record(
            "rating",
            lambda: [document.set_rating([row], old) for row, old in before],
            lambda: document.set_rating(rows, rating),
        )

    def toggle_label(self, rows: list[int], label: str | None) -> None:
        """Lightroom's 6-9 label toggle on `rows`, undoable."""
        document, rows = self.document, list(rows)
        before = [(row, document.images[row].label) for row in rows]
        document.toggle_label(rows, label)
        after = [(row, document.images[row].label) for row in rows]
        self.record("label", lambda: self._set_labels(before), lambda: self._set_labels(after))

    def _set_labels(self, labels: list[tuple[int, str | None]]) -> None:
        for row, label in labels:
            if self.document.images[row].label != label:
                self.document.toggle_label([row], label)  # sets it (None clears it)

    def record(self, label: str, undo: Callable[[], None], redo: Callable[[], None]) -> None:
        """A change just made elsewhere (ratings, labels): Ctrl+Z calls `undo`, Ctrl+Shift+Z `redo`."""
        self._done.append(Change(label, undo, redo))
        self._undone.clear()

    def undo(self) -> None:
        self._replay(self._done, self._undone, undo=True)

    def redo(self) -> None:
        self._replay(self._undone, self._done, undo=False)

    def _replay(self, source: list, target: list, undo: bool) -> None:
        if not source:  # e.g. a mask step made before this image's markers were dropped
            self._mask_step(undo)
            return
        entry = source.pop()
        if isinstance(entry, Change):
            (entry.undo if undo else entry.redo)()
        elif isinstance(entry, FlagChange):
            if undo:
                for row, flag in zip(entry.rows, entry.before, strict=True):
                    self.document.set_flag([row], flag)
            else:
                self.document.set_flag(list(entry.rows), entry.after)
        else:
            self._mask_step(undo)
        target.append(entry)

    def _mask_step(self, undo: bool) -> None:
        self._replaying = True
        try:
            self.document.undo() if undo else self.document.redo()
        finally:
            self._replaying = False

    def _mask_committed(self, review) -> None:
        if not self._replaying:
            self._done.append(MASK)
            self._undone.clear()  # a new edit ends what could be redone

    def _review_changed(self, review) -> None:
        # The mask history belongs to the image that was on screen; flag steps stay undoable.
        self._done = [e for e in self._done if e is not MASK]
        self._undone = [e for e in self._undone if e is not MASK]
