"""The empty shoot view: says what to do first."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class DropHint(QWidget):
    """The empty shoot view: says what to do first."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("Drop a shoot folder here")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 22px; font-weight: 600; color: palette(text);")
        detail = QLabel("or choose File → Open Folder… (Ctrl+O). Originals are never modified.")
        detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        detail.setStyleSheet("color: palette(mid);")
        layout.addWidget(title)
        layout.addWidget(detail)
        layout.addStretch(1)
        self.setObjectName("dropHint")
        self.setStyleSheet(
            "#dropHint { border: 2px dashed palette(mid); border-radius: 12px; margin: 24px; }"
        )
