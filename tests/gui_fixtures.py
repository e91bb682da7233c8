"""Shared helpers for the review-desk GUI tests: shoot folders, drops, mouse drags on the canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication


def make_shoot(folder: Path, count: int = 6, size: tuple[int, int] = (640, 480)) -> Path:
    """JPEGs of a dark 'product' on a light backdrop, each a little different."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    w, h = size
    for i in range(count):
        pixels = np.full((h, w, 3), 225, np.uint8)
        x0, y0 = w // 4 + (5 * i) % (w // 4), h // 4
        pixels[y0 : y0 + h // 2, x0 : x0 + w // 2] = rng.integers(20, 110, (h // 2, w // 2, 3))
        Image.fromarray(pixels).save(folder / f"shot_{i:03d}.jpg", quality=90)
    return folder


def drop(widget, paths: list[Path]) -> None:
    """A synthetic drag-and-drop of `paths` onto `widget` (enter, then drop)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    rest = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(
        QPoint(20, 20), *rest
    )  # Qt 6: QDragEnterEvent takes a QPoint, QDropEvent a QPointF
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(widget, QDropEvent(QPointF(20, 20), *rest))


def mouse(widget, kind: QEvent.Type, pos: QPointF, button=Qt.MouseButton.LeftButton, modifiers=None) -> None:
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(
        kind,
        pos,
        widget.mapToGlobal(pos),
        button if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton,
        buttons,
        modifiers or Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def drag(widget, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton) -> None:
    """Press at the first point, move through the rest, release at the last (widget pixels)."""
    mouse(widget, QEvent.Type.MouseButtonPress, QPointF(*points[0]), button)
    for point in points[1:]:
        mouse(widget, QEvent.Type.MouseMove, QPointF(*point), button)
    mouse(widget, QEvent.Type.MouseButtonRelease, QPointF(*points[-1]), button)


def click(widget, point: tuple[float, float], button=Qt.MouseButton.LeftButton) -> None:
    drag(widget, [point], button)


@pytest.fixture
def window(qtbot, tiny_models, tmp_path):
    """The review desk on the tiny models, shown offscreen (a pytest plugin fixture: see conftest)."""
    from engine.models.config import ModelsConfig
    from gui.main_window import MainWindow

    window = MainWindow(models=ModelsConfig.load(tiny_models), thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown_engine()
