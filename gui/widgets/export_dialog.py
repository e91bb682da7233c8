"""File → Export…: hand the picked (or selected, or a class's) images to other tools.

The user picks a preset, what to write and where; "Check" runs only the preflight, "Export" writes. Both
run as one engine job through the bridge; the list shows every image that was skipped and why.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import (
    EXPORT_PRESETS,
    EngineError,
    ExportPreset,
    ExportRequest,
    Failed,
    Succeeded,
    load_preset_file,
)
from gui.bridge import EngineBridge

CONTENTS = (("masks", "Masks (8-bit PNG, original size)"), ("cutouts", "Cut-outs"),
            ("coco", "COCO JSON"), ("labelme", "LabelMe JSON"))  # fmt: skip


class ExportDialog(QDialog):
    finished_export = Signal(object)  # ExportReport

    def __init__(
        self,
        bridge: EngineBridge,
        folder: Path,
        selected: list[Path] | None = None,
        classes: list[str] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.resize(640, 520)
        self.bridge, self.folder, self.selected = bridge, Path(folder), list(selected or [])
        self.presets: dict[str, ExportPreset] = dict(EXPORT_PRESETS)
        self.job = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.preset_box = QComboBox()
        self.preset_box.addItems(list(self.presets))
        load = QPushButton("Load…")
        load.clicked.connect(self.choose_preset_file)
        row = QHBoxLayout()
        row.addWidget(self.preset_box, 1)
        row.addWidget(load)
        form.addRow("Preset", row)

        self.which = QComboBox()
        self.which.addItem("Picked images", ("picked", None))
        if self.selected:
            self.which.addItem(f"Selected images ({len(self.selected)})", ("all", self.selected))
        self.which.addItem("Product images", ("product", None))
        for name in classes or []:
            self.which.addItem(f"Class: {name}", (f"class:{name}", None))
        self.which.addItem("All images", ("all", None))
        form.addRow("Images", self.which)

        contents = QHBoxLayout()
        self.contents = {key: QCheckBox(text) for key, text in CONTENTS}
        for box in self.contents.values():
            contents.addWidget(box)
        form.addRow("Write", contents)

        self.destination = QLineEdit(str(self.folder.parent / f"{self.folder.name} export"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.choose_destination)
        row = QHBoxLayout()
        row.addWidget(self.destination, 1)
        row.addWidget(browse)
        form.addRow("Export folder", row)

        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.results = QListWidget()
        self.results.setWordWrap(True)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.results, 1)

        buttons = QHBoxLayout()
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Run the preset's preflight; write nothing")
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        close = QPushButton("Close")
        self.check_button.clicked.connect(lambda: self.start(preflight_only=True))
        self.export_button.clicked.connect(lambda: self.start(preflight_only=False))
        close.clicked.connect(self.reject)
        buttons.addStretch(1)
        for button in (self.check_button, self.export_button, close):
            buttons.addWidget(button)
        layout.addLayout(buttons)

        self.preset_box.currentTextChanged.connect(self.show_preset)
        self.show_preset(self.preset_box.currentText())

    # -- the form ------------------------------------------------------------------------------
    def preset(self) -> ExportPreset:
        """The chosen preset with the ticked contents."""
        chosen = self.presets[self.preset_box.currentText()]
        return replace(chosen, **{key: box.isChecked() for key, box in self.contents.items()})

    def show_preset(self, name: str) -> None:
        preset = self.presets.get(name)
        if preset is None:
            return
        for key, box in self.contents.items():
            box.setChecked(bool(getattr(preset, key)))
        self.summary.setText(_describe(preset))

    def add_presets(self, presets: dict[str, ExportPreset]) -> None:
        for name, preset in presets.items():
            if name not in self.presets:
                self.preset_box.addItem(name)
            self.presets[name] = preset
        self.preset_box.setCurrentText(next(iter(presets)))

    def choose_preset_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Export presets", "", "Presets (*.toml)")
        if path:
            try:
                self.add_presets(load_preset_file(path))
            except EngineError as error:
                QMessageBox.warning(self, "Export presets", str(error))

    def choose_destination(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.destination.text())
        if folder:
            self.destination.setText(folder)

    # -- the job -------------------------------------------------------------------------------
    def request(self, preflight_only: bool) -> ExportRequest:
        select, paths = self.which.currentData()
        return ExportRequest(
            folder=self.folder,
            out_dir=Path(self.destination.text()).expanduser(),
            select=select,
            paths=paths,
            preset=self.preset(),  # the preset itself: it may come from a file the engine never saw
            preflight_only=preflight_only,
        )

    def start(self, preflight_only: bool) -> None:
        if self.job is not None:
            return
        request = self.request(preflight_only)
        self.results.clear()
        self.summary.setText("Checking…" if preflight_only else "Exporting…")
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        for button in (self.check_button, self.export_button):
            button.setEnabled(False)
        self.job = self.bridge.submit(
            self.bridge.engine.export(request),
            on_done=self._done,
            on_progress=self._progress,
            owner=self,
        )

    def _progress(self, progress) -> None:
        if progress.total:
            self.progress.setRange(0, int(progress.total))
            self.progress.setValue(int(progress.done))

    def _done(self, outcome) -> None:
        self.job = None
        self.progress.setVisible(False)
        for button in (self.check_button, self.export_button):
            button.setEnabled(True)
        if isinstance(outcome, Failed):
            self.summary.setText(f"Export failed: {outcome.message}")
            return
        if not isinstance(outcome, Succeeded):
            self.summary.setText("Export cancelled.")
            return
        report = outcome.value
        self.summary.setText(report.summary())
        for row in report.rows:
            if row.status != "exported":
                self.results.addItem(f"{row.file} — {row.status}: {'; '.join(row.problems)}")
        self.finished_export.emit(report)


def _describe(preset: ExportPreset) -> str:
    size = f"long edge {preset.long_edge} px" if preset.long_edge else "original size"
    background = {"keep": "the shot as it is", "transparent": "transparent"}.get(
        preset.background, preset.background
    )
    checks = "; preflight on" if preset.preflight.active else ""
    return f"{preset.format}, {size}, {background}{', trimmed' if preset.trim else ''}{checks}"
