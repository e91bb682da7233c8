"""The Enhance compare on the main canvas area: the variant against the original with a split line, a
before/after toggle (backslash), or two variants side by side, with one zoom and pan for both sides.

The Enhance panel keeps its controls (variants strip, split slider, Accept); this page gives its compare
view the middle of the window instead of a strip inside the dock.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.create.enhance_panel import EnhancePanel
from gui.icons import icon


class CompareDesk(QWidget):
    back = Signal()  # the user wants the mask canvas again

    def __init__(self, panel: EnhancePanel, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.view = panel.compare
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        self.title = QLabel("")
        self.split_button = QPushButton("Split")
        self.side_button = QPushButton("Side by side")
        for button, mode in ((self.split_button, "split"), (self.side_button, "side")):
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
        self.split_button.setChecked(True)
        self.other = QComboBox()
        self.other.setToolTip("The variant shown on the right, side by side")
        self.other.currentIndexChanged.connect(self._other_chosen)
        self.before_button = QPushButton("Before (\\)")
        self.before_button.setCheckable(True)
        self.before_button.toggled.connect(self.view.set_show_before)
        self.view.before_toggled.connect(self._before_shown)
        fit = QPushButton("Fit")
        fit.clicked.connect(self.view.fit)
        actual = QPushButton("100%")
        actual.clicked.connect(self.view.actual_size)
        back = QPushButton("Back to the Mask")
        back.setIcon(icon("back"))
        back.setToolTip("Esc")
        back.clicked.connect(self.back)
        for widget in (self.title, self.split_button, self.side_button, self.other, self.before_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        for widget in (fit, actual, back):
            bar.addWidget(widget)
        # Its toolbar must not set the width of the canvas area (a stacked page's minimum is the area's).
        self.setMinimumSize(240, 160)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.view.show()
        panel.strip.currentRowChanged.connect(self._variant_shown)
        panel.run_finished.connect(lambda _: self._fill_others())

    def set_mode(self, mode: str) -> None:
        self.view.set_mode(mode)
        self.split_button.setChecked(mode == "split")
        self.side_button.setChecked(mode == "side")
        self.other.setVisible(mode == "side")
        if mode == "side":
            self._other_chosen(self.other.currentIndex())

    def _before_shown(self, on: bool) -> None:
        self.before_button.blockSignals(True)  # the view's own toggle (backslash): mirror, no loop
        self.before_button.setChecked(on)
        self.before_button.blockSignals(False)

    def _fill_others(self) -> None:
        result = self.panel.result
        self.other.blockSignals(True)
        self.other.clear()
        for variant in result.variants if result is not None else []:
            self.other.addItem(f"B: seed {variant.seed}")
        self.other.setCurrentIndex(min(1, self.other.count() - 1))
        self.other.blockSignals(False)
        self.set_mode(self.view.mode)
        self._variant_shown(self.panel.strip.currentRow())

    def _other_chosen(self, row: int) -> None:
        result = self.panel.result
        if result is not None and 0 <= row < len(result.variants):
            self.view.set_other(result.variants[row].preview)

    def _variant_shown(self, row: int) -> None:
        result = self.panel.result
        if result is not None and 0 <= row < len(result.variants):
            name = self.panel._image[0].name if self.panel._image else ""
            self.title.setText(f"{name} — seed {result.variants[row].seed}")

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.back.emit()
        else:
            super().keyPressEvent(event)
