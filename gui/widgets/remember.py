"""Panel settings remembered per user: the values of named fields, saved with the window layout when
the window closes and restored when it is built (gui/settings.py's INI file).

    remember("enhance", {"strength": settings.strength, "prompt": settings.prompt_edit, ...})

Only plain field types are handled (spin boxes, sliders, check boxes, combo boxes, line and text edits); a
value that no longer fits (an unknown sampler, a number out of range) is ignored, leaving the default.
"""

from __future__ import annotations

import contextlib
import weakref

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from gui.settings import user_settings

_GROUPS: dict[str, dict[str, weakref.ref]] = {}


def _get(widget: QWidget):
    if isinstance(widget, QAbstractButton):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, QLineEdit):
        return widget.text()
    if isinstance(widget, QPlainTextEdit):
        return widget.toPlainText()
    return widget.value()  # spin boxes and sliders


def _set(widget: QWidget, value) -> None:
    if isinstance(widget, QAbstractButton):
        widget.setChecked(str(value).lower() in ("true", "1"))
    elif isinstance(widget, QComboBox):
        index = widget.findText(str(value))
        if index >= 0:
            widget.setCurrentIndex(index)
    elif isinstance(widget, QLineEdit):
        widget.setText(str(value))
    elif isinstance(widget, QPlainTextEdit):
        widget.setPlainText(str(value))
    elif isinstance(widget, (QAbstractSpinBox, QAbstractSlider)):
        number = float(value) if "." in str(value) else int(value)
        if widget.minimum() <= number <= widget.maximum():
            widget.setValue(number)


def remember(group: str, fields: dict[str, QWidget], settings: QSettings | None = None) -> None:
    """Restore `fields` from the user's settings now; `save_all` writes them back."""
    settings = settings or user_settings()
    _GROUPS[group] = {name: weakref.ref(widget) for name, widget in fields.items()}
    for name, widget in fields.items():
        value = settings.value(f"{group}/{name}")
        if value is not None:
            with contextlib.suppress(TypeError, ValueError):  # a stale or hand-edited value: the default
                _set(widget, value)


def save_all(settings: QSettings | None = None) -> None:
    settings = settings or user_settings()
    for group, fields in _GROUPS.items():
        for name, ref in fields.items():
            widget = ref()
            if widget is not None:
                with contextlib.suppress(RuntimeError):  # the C++ widget was deleted
                    settings.setValue(f"{group}/{name}", _get(widget))
