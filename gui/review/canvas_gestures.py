"""Canvas gestures: each drag is a small object (press → moves → release, or cancel), so the canvas does
not keep a tangle of flags in its mouse handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF

from engine.api import Brush

if TYPE_CHECKING:
    from gui.review.mask_canvas import MaskCanvas

CLICK_SLOP = 4.0  # screen pixels a click may wander before it counts as a drag


class Gesture:
    def move(self, pos: QPointF) -> None: ...

    def release(self, pos: QPointF) -> None: ...

    def cancel(self) -> None: ...


class PanGesture(Gesture):
    """Space+drag or the middle button: move the view."""

    def __init__(self, canvas: MaskCanvas, pos: QPointF):
        self.canvas = canvas
        self.last = pos

    def move(self, pos: QPointF) -> None:
        self.canvas.pan_by(pos.x() - self.last.x(), pos.y() - self.last.y())
        self.last = pos


class StrokeGesture(Gesture):
    """Brush or eraser: one drag is one stroke, and one undo step."""

    def __init__(self, canvas: MaskCanvas, pos: QPointF, brush: Brush):
        self.canvas = canvas
        canvas.document.begin_stroke(canvas.to_image(pos), brush)

    def move(self, pos: QPointF) -> None:
        self.canvas.document.stroke_to(self.canvas.to_image(pos))

    def release(self, pos: QPointF) -> None:
        self.canvas.document.stroke_to(self.canvas.to_image(pos))
        self.canvas.document.end_stroke()

    def cancel(self) -> None:
        self.canvas.document.cancel_stroke()


class PromptGesture(Gesture):
    """SAM prompts: a click adds a point (positive, or negative with Alt / the right button); a drag
    draws a box."""

    def __init__(self, canvas: MaskCanvas, pos: QPointF, positive: bool):
        self.canvas = canvas
        self.start = pos
        self.positive = positive
        self.dragging = False

    def _box(self, pos: QPointF) -> QRectF:
        return QRectF(self.canvas.to_image_point(self.start), self.canvas.to_image_point(pos)).normalized()

    def move(self, pos: QPointF) -> None:
        delta = pos - self.start
        if abs(delta.x()) + abs(delta.y()) > CLICK_SLOP:
            self.dragging = True
        if self.dragging:
            self.canvas.show_box_preview(self._box(pos))

    def release(self, pos: QPointF) -> None:
        self.canvas.show_box_preview(None)
        if self.dragging:
            box = self._box(pos)
            self.canvas.prompt_box.emit((box.left(), box.top(), box.right(), box.bottom()))
        else:
            x, y = self.canvas.to_image(pos)
            self.canvas.prompt_point.emit((x, y, self.positive))

    def cancel(self) -> None:
        self.canvas.show_box_preview(None)
