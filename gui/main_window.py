"""The main window: the shoot view, menus, and engine status in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.bridge import EngineBridge


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


class MainWindow(QMainWindow):
    folder_opened = Signal(Path)

    def __init__(self, bridge: EngineBridge | None = None):
        super().__init__()
        self.setWindowTitle("ShootStudio")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.bridge = bridge or EngineBridge(parent=self)
        self.folder: Path | None = None

        self.pages = QStackedWidget()
        self.drop_hint = DropHint()
        self.pages.addWidget(self.drop_hint)
        self.setCentralWidget(self.pages)
        self._build_menus()
        self._build_status_bar()

    # -- building ----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open Folder…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._choose_folder)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About ShootStudio", self)
        about.triggered.connect(
            lambda: QMessageBox.about(self, "ShootStudio", "ShootStudio: review and enhance product shoots.")
        )
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.job_label = QLabel("")
        self.job_progress = QProgressBar()
        self.job_progress.setMaximumWidth(200)
        self.job_progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.bridge.cancel_all)
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.job_progress)
        bar.addPermanentWidget(self.cancel_button)
        self.bridge.job_progress.connect(self._show_progress)
        self.bridge.busy_changed.connect(self._show_busy)
        bar.showMessage("Ready")

    # -- engine status -----------------------------------------------------------------------------
    def _show_progress(self, job, progress) -> None:
        self.job_label.setText(f"{job.name}: {progress.message}" if progress.message else job.name)
        if progress.fraction is None:
            self.job_progress.setRange(0, 0)
        else:
            self.job_progress.setRange(0, 1000)
            self.job_progress.setValue(int(progress.fraction * 1000))

    def _show_busy(self, busy: bool) -> None:
        self.job_progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if not busy:
            self.job_label.setText("")

    # -- folders -----------------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a shoot folder")
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            self.statusBar().showMessage(f"Not a folder: {folder}", 5000)
            return
        self.folder = folder
        self.setWindowTitle(f"{folder.name} — ShootStudio")
        self.statusBar().showMessage(f"Opened {folder}")
        self.folder_opened.emit(folder)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        folder = next((p for p in paths if p.is_dir()), None) or (paths[0].parent if paths else None)
        if folder is not None:
            event.acceptProposedAction()
            self.open_folder(folder)

    # -- closing -----------------------------------------------------------------------------------
    def shutdown_engine(self) -> None:
        self.bridge.shutdown()

    def closeEvent(self, event) -> None:
        self.bridge.cancel_all()
        super().closeEvent(event)
