"""Opening a shoot in the main window (gui/main_window.py): the folder dialog, recent folders, drag and
drop, and indexing the folder off the UI thread once the first screen of thumbnails is painted.

`MainWindow` inherits `FolderOpening`; the mixin uses the window's document, engine, browser, background
tasks, first-screen gate and status bar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog

from engine.project.document import index_shots
from gui.settings import user_settings

RECENT_LIMIT = 8


class FolderOpening:
    """Folders and files into the desk (a mixin of `MainWindow`)."""

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a shoot folder")
        if folder:
            self.open_folder(Path(folder))

    def recent_folders(self) -> list[str]:
        value = user_settings().value("recent_folders", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.recent_folders() if f != str(folder)]
        user_settings().setValue("recent_folders", recent[:RECENT_LIMIT])

    def open_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            self.statusBar().showMessage(f"Not a folder: {folder}", 5000)
            return
        self._close_folder()
        try:
            self.document.open_folder(folder, self.engine.store(folder))
        except (OSError, ValueError) as error:
            self.statusBar().showMessage(f"Cannot open {folder}: {error}", 10000)
            return
        self.folder = folder
        self._remember(folder)
        self.setWindowTitle(f"{folder.name} — ShootStudio")
        count = len(self.document.images)
        note = "" if self.document.store.in_folder else " (read-only folder: edits kept in your data folder)"
        self.statusBar().showMessage(f"Opened {folder}: {count} images{note}")
        self.pages.setCurrentWidget(self.splitter)
        self.first_screen.after("index", self._start_indexing)  # the visible thumbnails come first
        if count:
            self.browser.select_row(0)
        self.folder_opened.emit(folder)

    def _close_folder(self) -> None:
        if self.folder is None:
            return
        self.bridge.cancel_all()
        self.tasks.run("index", lambda: None)  # stops indexing the old folder at its next file
        self.tasks.flush()  # mask and settings writes land before the store closes
        self.document.close()
        self.engine.close_store(self.folder)
        self.folder = None

    def _start_indexing(self) -> None:
        """Hash and look up every image off the UI thread; verdicts and flags fill in batch by batch."""
        store, groups = self.document.store, self.document.groups()
        self.tasks.run_iter(
            "index",
            lambda stopped: index_shots(store, groups, stopped),  # RAW+JPEG pairs, XMP sidecars
            self._apply_index,
            on_error=lambda error: None,  # a closed folder (or store) ends indexing quietly
        )

    def _apply_index(self, batch) -> None:
        if self.document.store is not None:
            self.document.apply_index(batch)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def open_paths(self, paths: list[Path]) -> None:
        """A folder opens as a shoot; files open their folder with the first of them selected."""
        folder = next((p for p in paths if p.is_dir()), None) or paths[0].parent
        if folder != self.folder or any(p.is_dir() for p in paths):
            self.open_folder(folder)
        files = {p.resolve() for p in paths if p.is_file()}
        for row, image in enumerate(self.document.images):
            if image.path.resolve() in files:
                self.browser.select_row(row)
                break
