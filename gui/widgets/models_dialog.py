"""Settings → Models: each role's status, and pointing a role at a file or folder.

The choice is saved to the user's models.toml (the file the CLI reads too), atomically.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.api import FILE_ROLES, ROLE_DESCRIPTIONS, ROLES, ModelsConfig, default_config_path, role_problem


class ModelsDialog(QDialog):
    config_saved = Signal(object)  # ModelsConfig

    def __init__(self, config: ModelsConfig, save_path: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(900, 360)
        self.config = config
        self.save_path = save_path or config.source or default_config_path()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Saved to {self.save_path} (the command line reads the same file)."))
        self.table = QTableWidget(len(ROLES), 4)
        self.table.setHorizontalHeaderLabels(["Role", "Status", "Path", ""])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        for row, role in enumerate(ROLES):
            problem = role_problem(self.config, role)
            name = QTableWidgetItem(role)
            name.setToolTip(ROLE_DESCRIPTIONS[role])
            status = QTableWidgetItem("found" if problem is None else "missing")
            status.setForeground(Qt.GlobalColor.darkGreen if problem is None else Qt.GlobalColor.red)
            status.setToolTip(problem or "")
            path = QTableWidgetItem(str(self.config.spec(role).local_path()))
            path.setToolTip(problem or str(self.config.spec(role).local_path()))
            for column, item in enumerate((name, status, path)):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)
            chooser = QWidget()
            row_layout = QHBoxLayout(chooser)
            row_layout.setContentsMargins(2, 0, 2, 0)
            if role in FILE_ROLES:
                pick = QPushButton("File…")
                pick.clicked.connect(lambda _=False, r=role: self._choose(r, folder=False))
            else:
                pick = QPushButton("Folder…")
                pick.clicked.connect(lambda _=False, r=role: self._choose(r, folder=True))
            row_layout.addWidget(pick)
            self.table.setCellWidget(row, 3, chooser)

    def _choose(self, role: str, folder: bool) -> None:
        start = str(self.config.spec(role).local_path().parent)
        if folder:
            chosen = QFileDialog.getExistingDirectory(self, f"Folder for {role}", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(
                self, f"File for {role}", start, "Weights (*.pth *.pt *.bin *.safetensors *.ckpt);;All (*)"
            )
        if chosen:
            self.set_role_path(role, Path(chosen))

    def set_role_path(self, role: str, path: Path) -> None:
        """Point `role` at `path`, keeping its other options (variant, arch, ...)."""
        options = dict(self.config.spec(role).options)
        self.config = self.config.with_role(role, str(path.resolve()), **options)
        self.refresh()

    def save(self) -> None:
        self.config.save(self.save_path)
        self.config = ModelsConfig.load(self.save_path)
        self.config_saved.emit(self.config)
        self.accept()
