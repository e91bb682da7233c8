"""Settings → Models: each role's status, and pointing a role at a file or folder.

The choice is saved to the user's models.toml (the file the CLI reads too), atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.api import (
    FILE_ROLES,
    ROLE_DESCRIPTIONS,
    ROLES,
    ModelsConfig,
    Succeeded,
    default_config_path,
    role_problem,
)
from gui.theme import current_theme

SAM_VARIANTS = ("vit_b", "vit_l", "vit_h")
# The official checkpoints' sizes tell the variants apart when the file was renamed.
SAM_MIN_BYTES = (("vit_h", 2_000_000_000), ("vit_l", 1_000_000_000), ("vit_b", 300_000_000))


def sam_variant_of(path: Path) -> str | None:
    """The SAM variant a checkpoint is (sam_vit_h_4b8939.pth → vit_h), from its name or else its size;
    None when neither tells (a custom or tiny model keeps its own options)."""
    match = re.search(r"vit_?([bhl])(?![a-z])", path.name.lower())
    if match:
        return f"vit_{match.group(1)}"
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return next((variant for variant, least in SAM_MIN_BYTES if size >= least), None)


class ModelsDialog(QDialog):
    config_saved = Signal(object)  # ModelsConfig

    def __init__(
        self,
        config: ModelsConfig,
        save_path: Path | None = None,
        parent: QWidget | None = None,
        bridge=None,  # gui.bridge.EngineBridge: enables the Download buttons
    ):
        super().__init__(parent)
        self.bridge = bridge
        self.download_job = None
        self.setWindowTitle("Models")
        self.resize(900, 360)
        self.config = config
        self.save_path = save_path or config.source or default_config_path()
        layout = QVBoxLayout(self)
        # Not "Saved to": nothing is written until Save is pressed.
        self.note = QLabel(f"Save writes {self.save_path} (the command line reads the same file).")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.table = QTableWidget(len(ROLES), 4)
        self.table.setHorizontalHeaderLabels(["Role", "Status", "Path", ""])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
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
            if problem is not None:  # the theme's warning colour: AA contrast on dark and light alike
                status.setForeground(QColor(current_theme().warning))
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
            if problem is not None and self.bridge is not None:
                fetch = QPushButton("Download")
                fetch.setToolTip(
                    f"`python main.py models download {role}`: the standard weights, from the network"
                )
                fetch.setEnabled(self.download_job is None)
                fetch.clicked.connect(lambda _=False, r=role: self.download(r))
                row_layout.addWidget(fetch)
            if role == "sam":  # a vit_h checkpoint loaded as vit_b fails: the variant is chosen here
                self.sam_variant = QComboBox()
                variant = str(self.config.spec("sam").option("variant", "vit_b"))
                self.sam_variant.addItems(
                    [*SAM_VARIANTS, *([variant] if variant not in SAM_VARIANTS else [])]
                )
                self.sam_variant.setCurrentText(variant)
                self.sam_variant.currentTextChanged.connect(self._sam_variant_chosen)
                row_layout.addWidget(self.sam_variant)
            self.table.setCellWidget(row, 3, chooser)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(1)
        self.table.resizeColumnToContents(3)

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
        if role == "sam":
            variant = sam_variant_of(path)
            if variant is not None:
                options = {"variant": variant}  # the official sizes; a custom model's sizes no longer apply
        self.config = self.config.with_role(role, str(path), **options)  # as chosen, not resolved
        self.refresh()

    def download(self, role: str):
        """Fetch `role`'s standard weights on the engine thread, with progress; the table refreshes after."""
        if self.bridge is None or self.download_job is not None:
            return None
        self.download_job = self.bridge.submit(
            self.bridge.engine.download_models([role]),
            on_done=self._downloaded,
            on_progress=self._download_progress,
            owner=self,
        )
        self.progress.setRange(0, 0)  # a network fetch of unknown length: a moving bar
        self.progress.setVisible(True)
        self.note.setText(f"Downloading {role}…")
        for row in range(self.table.rowCount()):  # one download at a time (no refresh: the clicked
            for button in self.table.cellWidget(row, 3).findChildren(QPushButton):  # button lives on)
                button.setEnabled(button.text() != "Download")
        return self.download_job

    def _download_progress(self, progress) -> None:
        if progress.message:
            self.note.setText(progress.message.capitalize() + "…")

    def _downloaded(self, outcome) -> None:
        self.download_job = None
        self.progress.setVisible(False)
        if isinstance(outcome, Succeeded):
            self.note.setText(f"Downloaded {', '.join(found.role for found in outcome.value)}.")
            self.config_saved.emit(self.config)  # the roles now resolve: the desk re-checks them
        else:
            self.note.setText(f"Not downloaded: {getattr(outcome, 'message', None) or 'cancelled'}")
        self.refresh()

    def _sam_variant_chosen(self, variant: str) -> None:
        spec = self.config.spec("sam")
        options = {**spec.options, "variant": variant}
        self.config = self.config.with_role("sam", str(spec.local_path()), **options)

    def save(self) -> None:
        try:
            self.config.save(self.save_path)
        except OSError as error:
            self.note.setText(f"Not saved: {error}")
            return
        self.config = ModelsConfig.load(self.save_path)
        self.config_saved.emit(self.config)
        self.accept()
