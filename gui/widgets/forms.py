"""Small form builders shared by the panels and dialogs (spin boxes, rows of widgets, job progress)."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QProgressBar, QSpinBox, QWidget

from engine.api import Progress


def int_spin(low: int, high: int, value: int, step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    return spin


def float_spin(low: float, high: float, value: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    return spin


def widget_row(*widgets: QWidget) -> QWidget:
    """The widgets side by side, without margins (one form row holding several fields)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return row


def show_progress(bar: QProgressBar, status: QLabel, progress: Progress) -> None:
    """A job's progress in a bar (when it knows its total) and its message in a label."""
    if progress.total:
        bar.setRange(0, int(progress.total))
        bar.setValue(int(progress.done))
    if progress.message:
        status.setText(progress.message)


def show_done(bar: QProgressBar) -> None:
    bar.setRange(0, 1)
    bar.setValue(1)
