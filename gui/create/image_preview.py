"""A generated image, looked at without leaving the shoot: a window with the picture fitted to it.

Opening a generated file as a shoot would switch the whole desk to the output folder (and create a
project store there); this only shows it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QSizePolicy, QVBoxLayout


class ImagePreview(QDialog):
    def __init__(self, path: Path, parent=None):
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(f"{self.path.name} — {self.path.parent}")
        self.pixmap = QPixmap(str(self.path))
        self.picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setMinimumSize(160, 120)
        caption = QLabel(str(self.path) if not self.pixmap.isNull() else f"Cannot show {self.path}")
        caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(caption)
        self.resize(720, 720)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self.pixmap.isNull():
            self.picture.setPixmap(
                self.pixmap.scaled(
                    self.picture.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
