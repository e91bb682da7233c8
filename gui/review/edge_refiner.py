"""Refine edge (like Select and Mask): the matting role softens the mask's edge in a band; the band, the
alpha and the cut-out result are shown on the canvas before the user applies the soft mask.

    refiner = EdgeRefiner(bridge, document, canvas)       # submits `refine_edge` jobs, owns the overlay
    mask_panel.add_section(EdgeRefineBox(refiner))        # band width, Refine, view, Apply

The overlay is one image over the product's box (band and product), scaled to at most OVERLAY_SIDE px
and drawn by the canvas after its own layers; a new image or a changed mask drops it (it would be stale).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from engine.api import Failed, Outcome, RefinedEdge, RefineEdgeRequest, Succeeded
from engine.project.document import ShootDocument
from gui.bridge import EngineBridge

VIEWS = ("band", "alpha", "result", "off")
OVERLAY_SIDE = 2048
BAND_COLOUR = (0, 200, 255, 150)


def overlay_rgba(
    rgb: np.ndarray, edge: RefinedEdge, view: str
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(HxWx4 uint8 overlay, its (left, top, right, bottom) box in image pixels) for `view`: the unknown
    band tinted, the alpha as grey, or the product cut out through the alpha over a checkerboard."""
    rows, cols = np.nonzero(edge.trimap > 0)
    if rows.size == 0:
        return np.zeros((1, 1, 4), np.uint8), (0, 0, 1, 1)
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    left, top, right, bottom = box
    alpha = edge.alpha[top:bottom, left:right]
    out = np.zeros((*alpha.shape, 4), np.uint8)
    if view == "band":
        out[edge.trimap[top:bottom, left:right] == 128] = BAND_COLOUR
    elif view == "alpha":
        out[..., :3] = np.round(alpha * 255)[..., None].astype(np.uint8)
        out[..., 3] = 255
    else:
        yy, xx = np.mgrid[top:bottom, left:right]
        checker = np.where(((yy // 8) + (xx // 8)) % 2 == 0, 200, 150).astype(np.float32)[..., None]
        product = rgb[top:bottom, left:right].astype(np.float32)
        out[..., :3] = np.round(product * alpha[..., None] + checker * (1 - alpha[..., None])).astype(
            np.uint8
        )
        out[..., 3] = 255
    return out, box


class EdgeRefiner(QObject):
    """Runs Refine edge for the image under review and shows its result on the canvas."""

    refined = Signal(object)  # RefinedEdge
    cleared = Signal()  # the result was applied, or went stale
    message = Signal(str)

    def __init__(self, bridge: EngineBridge, document: ShootDocument, canvas, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge, self.document, self.canvas = bridge, document, canvas
        self.edge: RefinedEdge | None = None
        self.view = "band"
        self._image: QImage | None = None
        self._box = (0, 0, 1, 1)
        self._revision = -1
        self._applying = False
        document.review_changed.connect(lambda review: self.clear())
        document.mask_changed.connect(lambda bbox: None if self._applying else self.clear())
        canvas.overlays.append(self)

    def refine(self, band: int) -> bool:
        """Ask the engine for the soft edge of the current mask; False when there is no image."""
        review = self.document.review
        if review is None or not review.mask.any():
            self.message.emit("Refine edge needs an image with a mask.")
            return False
        self._revision = review.revision
        request = RefineEdgeRequest(review.rgb, review.mask.copy(), band, review.image_id)
        self.message.emit(f"Refining the edge ({band} px band)…")
        self.bridge.submit(self.bridge.engine.refine_edge(request), on_done=self._done, owner=self)
        return True

    def _done(self, outcome: Outcome) -> None:
        review = self.document.review
        if isinstance(outcome, Failed):
            self.message.emit(f"Refine edge failed: {outcome.message}")
            return
        if not isinstance(outcome, Succeeded):
            return
        edge = outcome.value
        if review is None or review.image_id != edge.image_id:
            return  # the user moved on to another image
        if review.revision != self._revision:
            self.message.emit("The mask changed meanwhile: Refine edge again.")
            return
        self.edge = edge
        self._render()
        self.message.emit("Edge refined: check the band, the alpha and the result, then Apply.")
        self.refined.emit(edge)

    def set_view(self, view: str) -> None:
        self.view = view if view in VIEWS else "band"
        self._render()

    def apply(self) -> bool:
        """Make the soft alpha the image's mask (one undo step)."""
        if self.edge is None:
            return False
        self._applying = True
        try:
            self.document.replace_mask(self.edge.alpha8(), "refine edge")
        finally:
            self._applying = False
        self.clear()
        return True

    def clear(self) -> None:
        if self.edge is None and self._image is None:
            return
        self.edge, self._image = None, None
        self.canvas.update()
        self.cleared.emit()

    # -- drawing (called by the canvas after its own layers) -----------------------------------
    def _render(self) -> None:
        review = self.document.review
        if self.edge is None or review is None or self.view == "off":
            self._image = None
        else:
            rgba, self._box = overlay_rgba(review.rgb, self.edge, self.view)
            height, width = rgba.shape[:2]
            scale = min(1.0, OVERLAY_SIDE / max(height, width))
            image = QImage(rgba.data, width, height, width * 4, QImage.Format.Format_RGBA8888).copy()
            if scale < 1.0:
                image = image.scaled(round(width * scale), round(height * scale))
            self._image = image
        self.canvas.update()

    def paint(self, painter: QPainter, canvas) -> None:
        if self._image is None:
            return
        left, top, right, bottom = self._box
        target = QRectF(canvas.to_screen(left, top), canvas.to_screen(right, bottom))
        painter.drawImage(target, self._image)


class EdgeRefineBox(QGroupBox):
    """The Mask panel's "Refine edge" section: band width, Refine, what to show, Apply."""

    def __init__(self, refiner: EdgeRefiner, parent: QWidget | None = None):
        super().__init__("Refine edge", parent)
        self.refiner = refiner
        form = QFormLayout(self)
        self.band = QSpinBox()
        self.band.setRange(2, 200)
        self.band.setValue(12)
        self.band.setSuffix(" px")
        self.band.setToolTip("Width of the edge band the matting model may soften (hair, straps, glass)")
        form.addRow("Band", self.band)
        self.view = QComboBox()
        self.view.addItems(["Band", "Alpha", "Result", "Off"])
        self.view.currentTextChanged.connect(lambda text: refiner.set_view(text.lower()))
        form.addRow("Show", self.view)
        row = QHBoxLayout()
        self.refine_button = QPushButton("Refine edge")
        self.refine_button.clicked.connect(lambda: refiner.refine(self.band.value()))
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Use the soft edge as the mask (undoable)")
        self.apply_button.clicked.connect(refiner.apply)
        row.addWidget(self.refine_button)
        row.addWidget(self.apply_button)
        form.addRow(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        refiner.message.connect(self.status.setText)
        refiner.refined.connect(lambda edge: self._update())
        refiner.cleared.connect(self._update)
        refiner.document.review_changed.connect(lambda review: self._update())
        self._update()

    def _update(self) -> None:
        self.apply_button.setEnabled(self.refiner.edge is not None)
        self.refine_button.setEnabled(self.refiner.document.review is not None)
