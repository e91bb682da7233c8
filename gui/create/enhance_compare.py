"""Before/after compare of an enhanced region at 100%: a split line you drag (or set with a slider), and a
toggle that shows the whole "before"."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def qimage_from_rgb8(rgb: np.ndarray) -> QImage:
    """HxWx3 uint8 → an independent QImage (the numpy buffer may go away)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, width * 3, QImage.Format.Format_RGB888).copy()


class CompareView(QWidget):
    """Shows `before` left of the split and `after` right of it, 1 image pixel = 1 screen pixel."""

    split_changed = Signal(float)  # 0..1, the split's position across the image

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._split = 0.5
        self._show_before = False
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.SplitHCursor)

    # -- state ---------------------------------------------------------------------------------------
    def set_images(self, before: np.ndarray | None, after: np.ndarray | None) -> None:
        self._before = qimage_from_rgb8(before) if before is not None else None
        self._after = qimage_from_rgb8(after) if after is not None else None
        self.setFixedSize(self.sizeHint())
        self.update()

    @property
    def split(self) -> float:
        return self._split

    def set_split(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction != self._split:
            self._split = fraction
            self.split_changed.emit(fraction)
            self.update()

    @property
    def showing_before(self) -> bool:
        return self._show_before

    def set_show_before(self, on: bool) -> None:
        self._show_before = bool(on)
        self.update()

    # -- Qt ------------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        image = self._after or self._before
        return image.size() if image is not None else QSize(1, 1)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(40, 40, 40))
        if self._before is None:
            return
        if self._show_before or self._after is None:
            painter.drawImage(QPoint(0, 0), self._before)
            return
        width, height = self._after.width(), self._after.height()
        x = round(self._split * width)
        painter.drawImage(QRect(0, 0, x, height), self._before, QRect(0, 0, x, height))
        painter.drawImage(QRect(x, 0, width - x, height), self._after, QRect(x, 0, width - x, height))
        painter.setPen(QPen(QColor(255, 255, 255, 200), 1))
        painter.drawLine(x, 0, x, height)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._drag_to(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._drag_to(event)

    def _drag_to(self, event: QMouseEvent) -> None:
        if self.width() > 0:
            self.set_split(event.position().x() / self.width())
