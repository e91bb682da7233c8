"""Before/after compare of an enhanced region, shown large in the middle of the desk: a split line you
drag (or set with a slider), a before/after toggle (backslash, as in Lightroom), and side by side of two
variants. One view transform serves both sides, so zoom (wheel) and pan (drag) stay synchronised."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

SPLIT_GRAB = 8  # screen pixels either side of the split line that grab it (elsewhere a drag pans)
MIN_SCALE, MAX_SCALE = 0.02, 32.0


def qimage_from_rgb8(rgb: np.ndarray) -> QImage:
    """HxWx3 uint8 → an independent QImage (the numpy buffer may go away)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, width * 3, QImage.Format.Format_RGB888).copy()


class CompareView(QWidget):
    """`before` left of the split and `after` right of it ("split"), or two variants side by side
    ("side"); fitted to the widget, zoomed with the wheel, panned by dragging."""

    split_changed = Signal(float)  # 0..1, the split's position across the image
    before_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._other: QImage | None = None  # the second variant, for side by side
        self._split = 0.5
        self._show_before = False
        self.mode = "split"  # or "side"
        self.scale = 1.0
        self.offset = QPointF(0, 0)  # screen position of the image's top-left corner (in each pane)
        self._fitted = True
        self._drag: tuple[str, QPointF] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -- state ---------------------------------------------------------------------------------------
    def set_images(self, before: np.ndarray | None, after: np.ndarray | None) -> None:
        same_size = (
            self._before is not None
            and before is not None
            and self._before.size() == QSize(before.shape[1], before.shape[0])
        )
        self._before = qimage_from_rgb8(before) if before is not None else None
        self._after = qimage_from_rgb8(after) if after is not None else None
        if not same_size or self._fitted:
            self.fit()
        self.update()

    def set_other(self, other: np.ndarray | None) -> None:
        """The variant shown beside `after` in side-by-side mode."""
        self._other = qimage_from_rgb8(other) if other is not None else None
        self.update()

    def set_mode(self, mode: str) -> None:
        self.mode = mode if mode in ("split", "side") else "split"
        if self._fitted:
            self.fit()
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
        if bool(on) != self._show_before:
            self._show_before = bool(on)
            self.before_toggled.emit(self._show_before)
            self.update()

    def toggle_before(self) -> None:
        self.set_show_before(not self._show_before)

    # -- view ----------------------------------------------------------------------------------------
    def _pane_width(self) -> float:
        return self.width() / 2 if self.mode == "side" else self.width()

    def image_size(self) -> QSize:
        image = self._after or self._before
        return image.size() if image is not None else QSize(1, 1)

    def fit(self) -> None:
        size = self.image_size()
        pane_w, pane_h = max(1.0, self._pane_width() - 8), max(1.0, self.height() - 8)
        self.scale = max(MIN_SCALE, min(pane_w / size.width(), pane_h / size.height()))
        self._centre()
        self._fitted = True
        self.update()

    def actual_size(self) -> None:
        """One image pixel per screen pixel, centred."""
        self.scale = 1.0
        self._centre()
        self._fitted = False
        self.update()

    def _centre(self) -> None:
        size = self.image_size()
        self.offset = QPointF(
            (self._pane_width() - size.width() * self.scale) / 2,
            (self.height() - size.height() * self.scale) / 2,
        )

    def zoom_to(self, scale: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under `anchor` (pane coordinates) still; both panes follow."""
        scale = min(max(scale, MIN_SCALE), MAX_SCALE)
        image_point = (anchor - self.offset) / self.scale
        self.scale = scale
        self.offset = anchor - image_point * scale
        self._fitted = False
        self.update()

    def pan_by(self, dx: float, dy: float) -> None:
        self.offset += QPointF(dx, dy)
        self._fitted = False
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image lies in the (left) pane, in widget pixels."""
        size = self.image_size()
        return QRectF(self.offset, QRectF(0, 0, size.width() * self.scale, size.height() * self.scale).size())

    def split_x(self) -> float:
        rect = self.image_rect()
        return rect.left() + self._split * rect.width()

    # -- Qt ------------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def resizeEvent(self, event) -> None:
        if self._fitted:
            self.fit()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(self.backgroundRole()).darker(140))
        if self._before is None:
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < 1.0)
        rect = self.image_rect()
        if self.mode == "side":
            self._paint_side(painter, rect)
            return
        if self._show_before or self._after is None:
            painter.drawImage(rect, self._before)
            self._label(painter, 8, "Before")
            return
        x = self.split_x()
        painter.save()
        painter.setClipRect(QRectF(0, 0, x, self.height()))
        painter.drawImage(rect, self._before)
        painter.setClipRect(QRectF(x, 0, self.width() - x, self.height()))
        painter.drawImage(rect, self._after)
        painter.restore()
        painter.setPen(QPen(QColor(255, 255, 255, 220), 1))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        self._label(painter, max(8, int(x) - 70), "Before")
        self._label(painter, min(self.width() - 60, int(x) + 8), "After")

    def _paint_side(self, painter: QPainter, rect: QRectF) -> None:
        half = self.width() / 2
        left = self._before if self._show_before else self._after or self._before
        right = self._other or self._after or self._before
        for x0, image, text in ((0.0, left, "Before" if self._show_before else "A"), (half, right, "B")):
            painter.save()
            painter.setClipRect(QRectF(x0, 0, half, self.height()))
            painter.drawImage(rect.translated(x0, 0), image)
            painter.restore()
            self._label(painter, int(x0) + 8, text)
        painter.setPen(QPen(QColor(255, 255, 255, 120), 1))
        painter.drawLine(QPointF(half, 0), QPointF(half, self.height()))

    def _label(self, painter: QPainter, x: int, text: str) -> None:
        metrics = painter.fontMetrics()
        box = QRectF(x, 8, metrics.horizontalAdvance(text) + 12, metrics.height() + 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        near_split = self.mode == "split" and abs(pos.x() - self.split_x()) <= SPLIT_GRAB
        if event.button() == Qt.MouseButton.LeftButton and near_split:
            self._drag = ("split", pos)
            self._drag_split(pos)
        elif event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = ("pan", pos)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag is None:
            near = self.mode == "split" and abs(pos.x() - self.split_x()) <= SPLIT_GRAB
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.OpenHandCursor)
            return
        kind, last = self._drag
        if kind == "split":
            self._drag_split(pos)
        else:
            self.pan_by(pos.x() - last.x(), pos.y() - last.y())
            self._drag = (kind, pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        anchor = event.position()
        if self.mode == "side" and anchor.x() > self.width() / 2:
            anchor = anchor - QPointF(self.width() / 2, 0)  # the right pane mirrors the left one
        self.zoom_to(self.scale * (1.25 ** (event.angleDelta().y() / 120.0)), anchor)
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Backslash:
            self.toggle_before()
        else:
            super().keyPressEvent(event)

    def _drag_split(self, pos: QPointF) -> None:
        rect = self.image_rect()
        if rect.width() > 0:
            self.set_split((pos.x() - rect.left()) / rect.width())
