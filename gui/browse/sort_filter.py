"""Culling criteria for the browser: show rating ≥ N and a colour label; sort by name, capture time,
rating or verdict. Plain rules (`CullCriteria`) the browser's proxy asks per row, and the small bar
that sets them.

The browser's proxy (gui/browse/thumbnail_browser.py, `BrowserFilter`) keeps its own verdict, class and
flag criteria (the Filter panel sets those) and consults `criteria.accepts(image)` and
`criteria.sort_key(image)` besides.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from engine.api import ERROR, LABELS, PRODUCT, SKIPPED, UNCERTAIN
from engine.project.document import ShootImage

SORT_KEYS = (("Name", "name"), ("Capture time", "time"), ("Rating", "rating"), ("Verdict", "verdict"))
NO_LABEL = "none"  # the label criterion that keeps only unlabelled images
_VERDICT_ORDER = {PRODUCT: 0, UNCERTAIN: 1, SKIPPED: 2, ERROR: 3, None: 4}


@dataclass(frozen=True)
class CullCriteria:
    """min_rating: 0 shows all; label: None any, NO_LABEL unlabelled, else one of LABELS;
    sort: one of SORT_KEYS' keys ("name" keeps the folder's order)."""

    min_rating: int = 0
    label: str | None = None
    sort: str = "name"

    def accepts(self, image: ShootImage) -> bool:
        if image.rating < self.min_rating:
            return False
        if self.label == NO_LABEL:
            return image.label is None
        return self.label is None or image.label == self.label

    def sort_key(self, image: ShootImage) -> tuple:
        """Ascending key; rating sorts best first, ties keep name order."""
        name = image.path.name.casefold()
        if self.sort == "time":
            return (image.captured_at or "9999", name)
        if self.sort == "rating":
            return (-image.rating, name)
        if self.sort == "verdict":
            return (_VERDICT_ORDER.get(image.verdict, 4), name)
        return (name,)


class CullBar(QWidget):
    """Rating ≥ N, label and sort order, above the browser; `changed` carries the new CullCriteria."""

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.rating_combo = QComboBox()
        self.rating_combo.addItem("Any rating", 0)
        for stars in range(1, 6):
            self.rating_combo.addItem("★" * stars + (" or more" if stars < 5 else ""), stars)
        self.label_combo = QComboBox()
        self.label_combo.addItem("Any label", None)
        self.label_combo.addItem("No label", NO_LABEL)
        for label in LABELS:
            self.label_combo.addItem(label.capitalize(), label)
        self.sort_combo = QComboBox()
        for text, key in SORT_KEYS:
            self.sort_combo.addItem(text, key)
        layout.addWidget(self.rating_combo)
        layout.addWidget(self.label_combo)
        layout.addWidget(QLabel("Sort"))
        layout.addWidget(self.sort_combo)
        layout.addStretch(1)
        for combo in (self.rating_combo, self.label_combo, self.sort_combo):
            combo.currentIndexChanged.connect(lambda _: self.changed.emit(self.criteria()))

    def criteria(self) -> CullCriteria:
        rating, label = int(self.rating_combo.currentData()), self.label_combo.currentData()
        return CullCriteria(rating, label, self.sort_combo.currentData())
