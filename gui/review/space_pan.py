"""Space held = the temporary hand tool, whatever widget has focus (Photoshop's and Lightroom's habit).

An application event filter takes Space before the focused widget sees it, so a panel button clicked a
moment ago is never pressed again by Space, and a drag on the canvas pans instead of painting. Text fields
keep their Space.
"""

from __future__ import annotations

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
KEY_EVENTS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride)


def _types_text(widget: QWidget) -> bool:
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, TEXT_INPUTS)


class SpacePan(QObject):
    """Routes Space press/release anywhere in `window` (docks included) to `canvas.set_space_pan`."""

    def __init__(self, window: QWidget, canvas):
        super().__init__(window)
        self.window, self.canvas = window, canvas
        QApplication.instance().installEventFilter(self)

    def close(self) -> None:
        QApplication.instance().removeEventFilter(self)
        self.canvas.set_space_pan(False)

    def _ours(self, widget: QWidget) -> bool:
        top = widget.window()
        return top is self.window or (isinstance(top, QDockWidget) and top.parent() is self.window)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationDeactivate:
            self.canvas.set_space_pan(False)  # the key-up may go to another application
            return False
        if event.type() not in KEY_EVENTS or event.key() != Qt.Key.Key_Space:
            return False
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if not isinstance(obj, QWidget) or obj is not QApplication.focusWidget() or not self._ours(obj):
            return False
        if _types_text(obj):
            return False
        if event.type() == QEvent.Type.ShortcutOverride:
            return False
        if not event.isAutoRepeat():
            self.canvas.set_space_pan(event.type() == QEvent.Type.KeyPress)
        return True  # never reaches the focused button, autorepeat included
