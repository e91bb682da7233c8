"""The mask canvas: the image under review with its mask, zoom/pan, brush, eraser and SAM prompts.

The tool, brush and overlay are the editor state's (engine/project/editor.py) and the SAM points the
prompt session's (engine/segment/prompts.py): the canvas reads them and redraws on their events.

Drawing is lazy and screen-sized: the image, the filter's regions and the mask are resampled from their
pyramids (gui/image_pyramid.py) into buffers the size of the widget. A stroke only marks the bounding box
it touched; the next paint refreshes that part of the mask pyramid and that part of the screen, so a
24 MP mask is never converted on a mouse move.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from engine.api import mask_ops
from engine.project.document import ReviewImage, ShootDocument
from engine.project.editor import EditorState
from engine.segment.prompts import PromptSession
from gui.review.canvas_content import OVERLAY_COLOURS, CanvasContent, class_colour, edges
from gui.review.canvas_gestures import Gesture, PanGesture, PromptGesture, StrokeGesture
from gui.review.canvas_preview import CanvasPreview
from gui.review.canvas_view import CanvasView
from gui.theme import current_theme

BBox = mask_ops.BBox
MASK_COLOUR = OVERLAY_COLOURS["pink"]  # the editable product mask, when not chosen automatically
MESSAGE_MARGIN = 12
MESSAGE_FLAGS = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap


class MaskCanvas(CanvasView, QWidget):
    prompt_point = Signal(object)  # (x, y, positive) in image pixels
    prompt_box = Signal(object)  # (x0, y0, x1, y1) in image pixels
    view_changed = Signal()
    navigate = Signal(int)  # arrow keys on the canvas: previous (-1) / next (+1) image
    prompt_finished = Signal()  # Enter: keep the SAM result, the next click starts a new prompt

    def __init__(
        self,
        document: ShootDocument,
        editor: EditorState,
        prompts: PromptSession,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.document, self.editor, self.prompts = document, editor, prompts
        self.content: CanvasContent | None = None
        self.preview: CanvasPreview | None = None  # a RAW's embedded preview, until its content is ready
        self.scale = 1.0
        self.offset = (0.0, 0.0)
        self.busy_message = ""
        self._box_preview: QRectF | None = None
        self._gesture: Gesture | None = None
        self._space_down = False
        self._hover: QPointF | None = None
        self._fitted = True
        self.mask_colour_choice = "auto"  # or a name in OVERLAY_COLOURS
        # Screen buffers (widget-sized) and what needs redrawing in them.
        self._image_buf: np.ndarray | None = None
        self._regions_buf: np.ndarray | None = None
        self._mask_buf: np.ndarray | None = None
        self._view_dirty = True
        self._mask_dirty: BBox | None = None
        self.frames = 0  # paint count (benchmarks, tests)
        self.overlays: list = []  # objects with paint(painter, canvas), drawn last (e.g. Refine edge)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 200)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._restore_cursor()
        document.mask_changed.connect(self._on_mask_changed)
        document.review_changed.connect(self._on_review_changed)
        editor.tool_changed.connect(lambda tool: (self._restore_cursor(), self.update()))
        editor.brush_changed.connect(lambda brush: self.update())
        editor.overlay_changed.connect(self.refresh_regions)

    # -- content -----------------------------------------------------------------------------
    def set_content(self, content: CanvasContent | None) -> None:
        """Show `content` (its review must be the document's next review)."""
        self.content = content
        self.preview = None
        self._mask_dirty = None
        self.fit()

    def set_preview(self, preview: CanvasPreview | None) -> None:
        """Show a RAW's embedded preview (no mask, no editing) until `set_content` brings the image."""
        self.preview = preview
        self.update()

    def _on_review_changed(self, review: ReviewImage | None) -> None:
        if self.content is not None and (review is None or review is not self.content.review):
            self.set_content(None)

    def _on_mask_changed(self, bbox: BBox | None) -> None:
        if self.content is None:
            return
        if bbox is None:
            h, w = self.content.mask.shape[:2]
            bbox = (0, h, 0, w)
        self._mask_dirty = mask_ops.union_bbox(self._mask_dirty, bbox)
        self.update(self._screen_rect(bbox).adjusted(-2, -2, 2, 2))

    def refresh_regions(self) -> None:
        self._view_dirty = True
        self.update()

    # -- view (zoom, pan, coordinates: gui/review/canvas_view.py) ----------------------------
    def resizeEvent(self, event) -> None:
        if self._fitted:
            self.fit()
        else:
            self._view_dirty = True
        super().resizeEvent(event)

    # -- transient state ---------------------------------------------------------------------
    def show_box_preview(self, box: QRectF | None) -> None:
        self._box_preview = box
        self.update()

    def set_busy(self, message: str) -> None:
        self.busy_message = message
        self.update()

    # -- rendering ---------------------------------------------------------------------------
    def _render_view(self) -> None:
        """Everything, after a zoom, pan or resize: costs one screen of pixels per layer."""
        assert self.content is not None
        w, h = max(1, self.width()), max(1, self.height())
        rect = (0, 0, w, h)
        self._image_buf = np.ascontiguousarray(
            self.content.image.render(self.scale, self.offset, rect, QColor(current_theme().canvas).red())
        )
        regions = None  # no outline to draw: no layer to blend on every repaint
        for layer, pyramid in self.content.regions:
            if layer.visible:
                edge = edges(pyramid.render(self.scale, self.offset, rect) >= 128, 2)
                regions = np.zeros((h, w, 4), np.uint8) if regions is None else regions
                regions[edge] = (*class_colour(layer.class_name), 230)
        self._regions_buf = regions
        self._mask_buf = np.zeros((h, w, 4), np.uint8)
        self._mask_buf[..., :3] = self.mask_colour()
        self._render_mask(QRect(0, 0, w, h))
        self._view_dirty = False

    def mask_colour(self) -> tuple[int, int, int]:
        if self.mask_colour_choice == "auto":
            return self.content.auto_colour if self.content is not None else MASK_COLOUR
        return OVERLAY_COLOURS.get(self.mask_colour_choice, MASK_COLOUR)

    def set_mask_colour(self, choice: str) -> None:
        """ "auto" (contrasting with the product) or a name in OVERLAY_COLOURS."""
        self.mask_colour_choice = choice
        self.refresh_regions()

    def _render_mask(self, rect: QRect) -> None:
        assert self.content is not None and self._mask_buf is not None
        rect = rect.intersected(QRect(0, 0, self._mask_buf.shape[1], self._mask_buf.shape[0]))
        if rect.isEmpty():
            return
        x, y, w, h = rect.x(), rect.y(), rect.width(), rect.height()
        target = self._mask_buf[y : y + h, x : x + w, 3]
        if not self.editor.show_mask:
            target[:] = 0
            return
        if self.editor.outline:
            pad = 2  # the edge of a pixel depends on its neighbours
            big = self.content.mask.render(
                self.scale, self.offset, (x - pad, y - pad, w + 2 * pad, h + 2 * pad)
            )
            edge = edges(big >= 128, 2)[pad:-pad, pad:-pad]
            target[:] = np.where(edge, np.uint8(255), np.uint8(0))
        else:
            alpha = self.content.mask.render(self.scale, self.offset, (x, y, w, h))
            target[:] = (alpha.astype(np.uint16) * int(self.editor.opacity * 256) >> 8).astype(np.uint8)

    def paintEvent(self, event) -> None:
        self.frames += 1
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor(current_theme().canvas))
        if self.content is None:
            if self.preview is not None:
                self.preview.paint(painter, self.width(), self.height(), QColor(current_theme().canvas).red())
                if self.busy_message:
                    self._paint_message(painter, self.busy_message, top=True)
                return
            self._paint_message(painter, self.busy_message or "Choose an image in the browser")
            return
        if (
            self._view_dirty
            or self._image_buf is None
            or self._image_buf.shape[:2]
            != (
                self.height(),
                self.width(),
            )
        ):
            if self._mask_dirty is not None:
                self.content.mask.update(self._mask_dirty)
                self._mask_dirty = None
            self._render_view()
            dirty = self.rect()
        else:
            dirty = event.rect()
            if self._mask_dirty is not None:
                # The lazy part: bring the pyramid and the screen up to date where the mask changed.
                self.content.mask.update(self._mask_dirty)
                self._render_mask(self._screen_rect(self._mask_dirty).adjusted(-2, -2, 2, 2))
                self._mask_dirty = None
        for buffer, fmt in (
            (self._image_buf, QImage.Format.Format_RGB888),
            (self._regions_buf, QImage.Format.Format_RGBA8888),
            (self._mask_buf, QImage.Format.Format_RGBA8888),
        ):
            if buffer is None:
                continue
            image = QImage(buffer.data, buffer.shape[1], buffer.shape[0], buffer.strides[0], fmt)
            painter.drawImage(dirty.topLeft(), image, dirty)
        self._paint_decorations(painter)
        for overlay in self.overlays:
            overlay.paint(painter, self)
        if self.busy_message:
            self._paint_message(painter, self.busy_message, top=True)

    def _paint_decorations(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for x, y, positive in self.prompts.points:
            centre = self.to_screen(x, y)
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.setBrush(QColor(40, 200, 90) if positive else QColor(230, 50, 50))
            painter.drawEllipse(centre, 6, 6)
        if self._box_preview is not None:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine))
            box = self._box_preview
            painter.drawRect(
                QRectF(self.to_screen(box.left(), box.top()), self.to_screen(box.right(), box.bottom()))
            )
        if self.editor.tool in ("brush", "eraser") and self._hover is not None:
            # Thin, non-antialiased rings: an antialiased wide or dotted circle costs ~1 ms per frame.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            radius = self.editor.brush.radius * self.scale
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.drawEllipse(self._hover, radius + 1, radius + 1)
            painter.setPen(QPen(QColor(255, 255, 255), 1))
            painter.drawEllipse(self._hover, radius, radius)
            if self.editor.brush.hardness < 1.0:  # where the soft edge begins
                inner = radius * max(self.editor.brush.hardness, 0.05)
                painter.setPen(QPen(QColor(255, 255, 255, 110), 1))
                painter.drawEllipse(self._hover, inner, inner)

    def _paint_message(self, painter: QPainter, text: str, top: bool = False) -> None:
        painter.setPen(QColor(235, 235, 235))
        font = painter.font()
        font.setPointSize(12)
        painter.setFont(font)
        box = self.message_box(text, painter.fontMetrics(), top)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(box, 8, 8)
        painter.drawText(box.adjusted(14, 8, -14, -8), MESSAGE_FLAGS, text)

    def message_box(self, text: str, metrics, top: bool = False) -> QRect:
        """Where a message is drawn: wrapped to the canvas width, so a long error is never clipped."""
        width = max(60, self.width() - 2 * MESSAGE_MARGIN - 28)
        box = metrics.boundingRect(QRect(0, 0, width, 10_000), MESSAGE_FLAGS, text).adjusted(-14, -8, 14, 8)
        box.moveCenter(self.rect().center() if not top else QRect(0, 0, self.width(), 70).center())
        if top:
            box.moveTop(max(MESSAGE_MARGIN, box.top()))
        return box

    def _cursor_rect(self, pos: QPointF) -> QRect:
        r = self.editor.brush.radius * self.scale + 4
        return QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r).toAlignedRect()

    # -- input -------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._gesture is not None:
            return
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            self._space_down and button == Qt.MouseButton.LeftButton
        ):
            self._gesture = PanGesture(self, pos)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self.content is None:
            return
        elif self.editor.tool == "sam" and button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            self._gesture = PromptGesture(self, pos, button == Qt.MouseButton.LeftButton and not alt)
        elif self.editor.tool in ("brush", "eraser") and button == Qt.MouseButton.LeftButton:
            brush = replace(self.editor.brush, erase=self.editor.tool == "eraser")
            self._gesture = StrokeGesture(self, pos, brush)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self.editor.tool in ("brush", "eraser"):
            old = self._hover
            self._hover = pos
            self.update(self._cursor_rect(pos))
            if old is not None:
                self.update(self._cursor_rect(old))
        if self._gesture is not None:
            self._gesture.move(pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._gesture is not None:
            gesture, self._gesture = self._gesture, None
            gesture.release(event.position())
            self._restore_cursor()

    def leaveEvent(self, event) -> None:
        if self._hover is not None:
            self.update(self._cursor_rect(self._hover))
        self._hover = None
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.content is None:
            return
        steps = event.angleDelta().y() / 120.0
        self.zoom_to(self.scale * (1.25**steps), event.position())
        event.accept()

    def set_space_pan(self, down: bool) -> None:
        """Space held: a left drag pans (gui/review/space_pan.py calls this whatever has focus)."""
        if down == self._space_down:
            return
        self._space_down = down
        if not isinstance(self._gesture, PanGesture):
            self._restore_cursor()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.set_space_pan(True)
        elif event.key() == Qt.Key.Key_Escape:
            self.cancel_gesture()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.prompt_finished.emit()
        elif event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.navigate.emit(-1 if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up) else 1)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.set_space_pan(False)
        else:
            super().keyReleaseEvent(event)

    def cancel_gesture(self) -> None:
        if self._gesture is not None:
            gesture, self._gesture = self._gesture, None
            gesture.cancel()
            self._restore_cursor()

    def _restore_cursor(self) -> None:
        if self._space_down:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.setCursor(
                Qt.CursorShape.CrossCursor if self.editor.tool == "sam" else Qt.CursorShape.BlankCursor
            )
