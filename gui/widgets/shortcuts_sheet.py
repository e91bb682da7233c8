"""Help → Keyboard Shortcuts: every menu shortcut, plus the canvas's own keys and mouse gestures."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

CANVAS_KEYS = [
    ("Canvas", "Pan (temporary hand tool), whatever has focus", "Space + drag"),
    ("Canvas", "Pan", "Middle-button drag"),
    ("Canvas", "Zoom around the pointer", "Wheel"),
    ("Canvas", "Previous / next image", "← → (canvas focused)"),
    ("Canvas", "Subtract a SAM point", "Alt+click or right click"),
    ("Canvas", "Keep the SAM result", "Enter"),
    ("Canvas", "Cancel the drag", "Esc"),
    ("Compare", "Before / after", "\\"),
]


class ShortcutsSheet(QDialog):
    def __init__(self, rows: list[tuple[str, str, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = rows + CANVAS_KEYS
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "Action", "Keys"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(620, 560)

    def keys(self) -> dict[str, str]:
        return {
            self.table.item(r, 1).text(): self.table.item(r, 2).text() for r in range(self.table.rowCount())
        }
