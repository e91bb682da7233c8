"""The picture the canvas shows while a RAW's working image is still being made: its embedded JPEG
preview, fitted to the canvas (Photo Mechanic shows a RAW the same way). Nothing can be edited on it;
the canvas swaps to the full image, its mask and its tools as soon as that is ready."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage, QPainter

from engine.api import screen_preview
from gui.review.image_pyramid import Pyramid


class CanvasPreview:
    """`rgb`: HxWx3 uint8, upright (engine.api.screen_preview). Build it off the UI thread."""

    def __init__(self, rgb: np.ndarray):
        self.pyramid = Pyramid(np.ascontiguousarray(rgb))
        self._buffer: np.ndarray | None = None

    @classmethod
    def load(cls, path: Path, raw_cache: Path) -> CanvasPreview | None:
        """Off the UI thread: the preview of a RAW whose working image is not cached yet, else None."""
        rgb = screen_preview(path, raw_cache)
        return None if rgb is None else cls(rgb)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the preview."""
        return self.pyramid.shape[1], self.pyramid.shape[0]

    def paint(self, painter: QPainter, width: int, height: int, background: int) -> None:
        """Draw the whole preview fitted and centred in a `width`×`height` canvas."""
        if self._buffer is None or self._buffer.shape[:2] != (height, width):
            w, h = self.size
            scale = min(width / w, height / h)
            offset = ((width - w * scale) / 2, (height - h * scale) / 2)
            rendered = self.pyramid.render(scale, offset, (0, 0, width, height), background)
            self._buffer = np.ascontiguousarray(rendered)
        buffer = self._buffer
        image = QImage(buffer.data, width, height, buffer.strides[0], QImage.Format.Format_RGB888)
        painter.drawImage(0, 0, image)
