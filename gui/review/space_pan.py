"""Space held = the temporary hand tool, whatever widget has focus (Photoshop's and Lightroom's habit).

An event filter rides on the focused widget (moved on every focus change, so no application-wide filter
sees every event), takes Space before the widget does, and turns it into the canvas's pan mode: a panel
button clicked a moment ago is never pressed again by Space, and a drag on the canvas pans instead of
painting. Text fields keep their Space.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)
KEY_PRESS, KEY_RELEASE = QEvent.Type.KeyPress, QEvent.Type.KeyRelease


def _types_text(widget: QWidget) -> bool:
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, TEXT_INPUTS)


class SpacePan(QObject):
    """Routes Space press/release anywhere in `window` (docks included) to `canvas.set_space_pan`."""

    def __init__(self, window: QWidget, canvas):
        super().__init__(window)
        self.window, self.canvas = window, canvas
        self._watched: QWidget | None = None
        # Focus moves with the held key (a click on the canvas focuses it): the filter follows it, and the
        # key-up lands on the new focus widget. Leaving the application ends the pan.
        app = QApplication.instance()
        app.focusChanged.connect(self._focus_changed)
        app.applicationStateChanged.connect(self._state_changed)

    def _state_changed(self, state) -> None:
        if state != Qt.ApplicationState.ApplicationActive:
            self.canvas.set_space_pan(False)

    def close(self) -> None:
        app = QApplication.instance()
        app.focusChanged.disconnect(self._focus_changed)
        app.applicationStateChanged.disconnect(self._state_changed)
        self._watch(None)
        self.canvas.set_space_pan(False)

    def _ours(self, widget: QWidget) -> bool:
        top = widget.window()
        return top is self.window or (isinstance(top, QDockWidget) and top.parent() is self.window)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        ours = new is not None and self._ours(new) and not _types_text(new)
        self._watch(new if ours else None)

    def _watch(self, widget: QWidget | None) -> None:
        if self._watched is not None:
            with contextlib.suppress(RuntimeError):  # the widget may be gone already
                self._watched.removeEventFilter(self)
        self._watched = widget
        if widget is not None:
            widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (KEY_PRESS, KEY_RELEASE) or event.key() != Qt.Key.Key_Space:
            return False
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if not event.isAutoRepeat():
            self.canvas.set_space_pan(kind == KEY_PRESS)
        return True  # never reaches the focused button, autorepeat included
