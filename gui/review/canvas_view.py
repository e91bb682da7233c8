"""The mask canvas's view (gui/review/mask_canvas.py): image and screen coordinates, fit, 100%, zoom
about a point and pan. `MaskCanvas` inherits `CanvasView`; the mixin uses the canvas's content, size,
`scale`, `offset` and `view_changed`.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF

from engine.api import mask_ops

BBox = mask_ops.BBox
MIN_ZOOM, MAX_ZOOM = 0.002, 32.0


class CanvasView:
    """Where the image sits on the canvas (a mixin of `MaskCanvas`)."""

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        return ((pos.x() - self.offset[0]) / self.scale, (pos.y() - self.offset[1]) / self.scale)

    def to_image_point(self, pos: QPointF) -> QPointF:
        return QPointF(*self.to_image(pos))

    def to_screen(self, x: float, y: float) -> QPointF:
        return QPointF(x * self.scale + self.offset[0], y * self.scale + self.offset[1])

    def _screen_rect(self, bbox: BBox) -> QRect:
        y0, y1, x0, x1 = bbox
        top_left = self.to_screen(x0, y0)
        bottom_right = self.to_screen(x1, y1)
        return QRectF(top_left, bottom_right).toAlignedRect().intersected(self.rect())

    def fit_scale(self) -> float:
        if self.content is None:
            return 1.0
        h, w = self.content.image.shape[:2]
        return max(MIN_ZOOM, min(self.width() / w, self.height() / h))

    def fit(self) -> None:
        """Ctrl+0: the whole image in the window."""
        self._fitted = True
        self.mask_colour_choice = "auto"  # or a name in OVERLAY_COLOURS
        self._set_view(self.fit_scale(), None)

    def actual_size(self) -> None:
        """Ctrl+1: one image pixel per screen pixel, centred on the view's centre."""
        self.zoom_to(1.0, QPointF(self.width() / 2, self.height() / 2))

    def zoom_to(self, scale: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under `anchor` (widget pixels) in place."""
        scale = max(self.fit_scale() * 0.25, min(MAX_ZOOM, scale))
        x, y = self.to_image(anchor)
        self._fitted = False
        self._set_view(scale, (anchor.x() - x * scale, anchor.y() - y * scale))

    def pan_by(self, dx: float, dy: float) -> None:
        self._fitted = False
        self._set_view(self.scale, (self.offset[0] + dx, self.offset[1] + dy))

    def _set_view(self, scale: float, offset: tuple[float, float] | None) -> None:
        self.scale = scale
        if offset is None and self.content is not None:  # centred
            h, w = self.content.image.shape[:2]
            offset = ((self.width() - w * scale) / 2, (self.height() - h * scale) / 2)
        self.offset = offset or (0.0, 0.0)
        self._view_dirty = True
        self.update()
        self.view_changed.emit()
