"""The one LoRA picker of the app: LoRA files with a scale each (kohya or diffusers/peft .safetensors),
used by the Enhance and Generate panels."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from engine.api import LoraSpec, parse_lora_arg
from gui.widgets.forms import widget_row


class LoraTable(QTableWidget):
    """LoRA files with a scale each."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["LoRA file", "scale"])
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setMaximumHeight(110)

    def add_lora(self, path: Path, scale: float = 1.0) -> None:
        row = self.rowCount()
        self.insertRow(row)
        name = QLabel(path.name)
        name.setToolTip(str(path))
        name.setProperty("path", str(path))
        self.setCellWidget(row, 0, name)
        spin = QDoubleSpinBox()
        spin.setRange(-2.0, 2.0)
        spin.setSingleStep(0.05)
        spin.setValue(scale)
        self.setCellWidget(row, 1, spin)

    def remove_selected(self) -> None:
        for row in sorted({index.row() for index in self.selectedIndexes()}, reverse=True):
            self.removeRow(row)

    def specs(self) -> list[LoraSpec]:
        """Validated specs; raises the engine's LoraError for a missing or non-safetensors file."""
        specs = []
        for row in range(self.rowCount()):
            spec = parse_lora_arg(self.cellWidget(row, 0).property("path"))
            specs.append(LoraSpec(spec.path, self.cellWidget(row, 1).value()))
        return specs


class LoraPicker(QWidget):
    """The table with Add… and Remove buttons."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = LoraTable()
        add, remove = QPushButton("Add LoRA…"), QPushButton("Remove")
        add.clicked.connect(self._choose)
        remove.clicked.connect(self.table.remove_selected)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(widget_row(add, remove))

    def add_lora(self, path: Path, scale: float = 1.0) -> None:
        self.table.add_lora(Path(path), scale)

    def specs(self) -> list[LoraSpec]:
        return self.table.specs()

    def _choose(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add LoRA", "", "LoRA (*.safetensors)")
        for name in files:
            self.add_lora(Path(name))
