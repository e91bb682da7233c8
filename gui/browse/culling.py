"""Culling on the review desk, the way photographers cull: Lightroom's keys (0-5 stars, 6-9 red, yellow,
green, blue labels), the rating/label/sort bar above the browser, the shot's stars and label on the
canvas, and XMP sidecars kept in step both ways.

The main window calls `install_culling(window)` once its menus exist, and `gui/menus.py` calls
`add_rating_actions(window, menu)` for the Review menu. Sidecar writes and rescans are background
tasks (gui/background.py, latest wins per key); a QFileSystemWatcher on the folder and on the sidecars
in it notices another program's change, and the rescan (`index_shots`) lets the newer value win, with a
note in the status bar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QFileSystemWatcher, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QToolBar

from engine.api import LABEL_KEYS, SidecarSettings, write_groups
from engine.project.document import index_shots
from gui.browse.badges import culling_text
from gui.browse.sort_filter import CullBar
from gui.settings import user_settings

NAMING_CHOICES = (
    ("IMG.xmp (Lightroom, Capture One, Photo Mechanic)", "stem"),
    ("IMG.CR2.xmp (darktable, digiKam)", "full"),
    ("Don't write sidecars", "off"),
)
RESCAN_DELAY_MS = 400  # a program writing several sidecars at once is read once


def _rows(window) -> list[int]:
    """The selected rows, else the current one (what P/X/U act on too)."""
    rows = window.browser.selected_rows()
    current = window.browser.current_row()
    return rows or ([current] if current is not None else [])


def add_rating_actions(window, menu) -> None:
    """0-5: stars; 6-9: toggle the red/yellow/green/blue label (Lightroom's keys), on the selection."""
    menu.addSeparator()
    for stars in range(6):
        text = f"Rate {'★' * stars}" if stars else "Clear Rating"
        action = QAction(text, window)
        action.setShortcut(QKeySequence(str(stars)))
        action.triggered.connect(lambda _=False, n=stars: _rate(window, n))
        menu.addAction(action)
    for key, label in LABEL_KEYS.items():
        action = QAction(f"Label {label.capitalize()}", window)
        action.setShortcut(QKeySequence(str(key)))
        action.triggered.connect(lambda _=False, name=label: _label(window, name))
        menu.addAction(action)


def _rate(window, stars: int) -> None:
    if rows := _rows(window):
        window.undo.set_rating(rows, stars)  # undoable with Ctrl+Z (gui/desk_undo.py)


def _label(window, label: str) -> None:
    if rows := _rows(window):
        window.undo.toggle_label(rows, label)  # undoable with Ctrl+Z (gui/desk_undo.py)


class CanvasBadge(QLabel):
    """The image under review's stars, label and RAW+JPEG badge, over the canvas's top-left corner."""

    def __init__(self, window):
        super().__init__(window.canvas)
        self.window = window
        self.setStyleSheet("QLabel { background: rgba(0,0,0,150); color: #ffd34d; padding: 3px 8px; }")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.move(8, 8)
        self.hide()
        window.review_shown.connect(lambda _: self.refresh())
        window.document.entries_updated.connect(lambda _: self.refresh())
        window.document.folder_closed.connect(lambda: self.hide())

    def refresh(self) -> None:
        review = self.window.document.review
        images = self.window.document.images
        if review is None or not 0 <= review.row < len(images):
            self.hide()
            return
        self.setText(culling_text(images[review.row]))
        self.adjustSize()
        self.show()
        self.raise_()


class SidecarSync(QObject):
    """Writes each changed shot's sidecar, and rescans when a sidecar changes on disk."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.settings = user_settings()  # the desk's per-user INI (gui/settings.py; temporary in tests)
        self.watcher = QFileSystemWatcher(self)
        self.rescan_timer = QTimer(window, singleShot=True, interval=RESCAN_DELAY_MS)
        self.rescan_timer.timeout.connect(self.rescan)
        # The last XMP note stays in a corner of the status bar (a transient message would be replaced
        # by the next image's); its tooltip lists the notes since the folder opened.
        self.note_label = QLabel("")
        self.notes: list[str] = []
        window.statusBar().addPermanentWidget(self.note_label)
        self.watcher.directoryChanged.connect(self._changed_on_disk)
        self.watcher.fileChanged.connect(self._changed_on_disk)
        document = window.document
        document.decisions_changed.connect(self.write)
        # With keywords on, a new verdict (a filter run, a threshold saved) reaches the sidecar too;
        # shots whose sidecar already says it are skipped in the engine.
        document.entries_updated.connect(
            lambda rows: self.write(rows) if self.sidecar_settings().keywords else None
        )
        document.notes.connect(self.show_notes)
        document.folder_opened.connect(self._watch)
        document.folder_closed.connect(self._unwatch)

    # -- settings ----------------------------------------------------------------------------
    def sidecar_settings(self) -> SidecarSettings:
        naming = str(self.settings.value("xmp/naming", "stem"))
        keywords = str(self.settings.value("xmp/keywords", "false")).lower() == "true"
        return SidecarSettings(naming if naming in ("stem", "full", "off") else "stem", keywords)

    def set_naming(self, naming: str) -> None:
        self.settings.setValue("xmp/naming", naming)

    def set_keywords(self, on: bool) -> None:
        self.settings.setValue("xmp/keywords", "true" if on else "false")

    # -- writing -----------------------------------------------------------------------------
    def write(self, rows: list[int]) -> None:
        document, store = self.window.document, self.window.document.store
        if store is None:
            return
        groups = [(document.images[r].path, list(document.images[r].companions)) for r in rows]
        settings = self.sidecar_settings()
        key = ("xmp-write", tuple(path for path, _ in groups))
        self.window.tasks.run(key, lambda: write_groups(store, groups, settings), self.show_notes)

    def show_notes(self, notes: list[str]) -> None:
        if notes:
            self.notes = (self.notes + list(notes))[-50:]
            more = f" (+{len(notes) - 1} more)" if len(notes) > 1 else ""
            self.note_label.setText(f"XMP: {notes[-1]}{more}")
            self.note_label.setToolTip("\n".join(self.notes))
            self.window.statusBar().showMessage(notes[-1] + more, 15000)

    # -- watching ----------------------------------------------------------------------------
    def _watch(self, folder: Path) -> None:
        self._unwatch()
        self.watcher.addPath(str(folder))
        self._watch_sidecars(Path(folder))

    def _watch_sidecars(self, folder: Path) -> None:
        # In-place edits do not change the directory: watch the sidecars themselves as well.
        sidecars = [str(p) for p in folder.iterdir() if p.suffix.lower() == ".xmp"]
        watched = set(self.watcher.files())
        if new := [p for p in sidecars if p not in watched]:
            self.watcher.addPaths(new)

    def _unwatch(self) -> None:
        self.rescan_timer.stop()
        self.notes = []
        self.note_label.setText("")
        if paths := self.watcher.files() + self.watcher.directories():
            self.watcher.removePaths(paths)

    def _changed_on_disk(self, _path: str) -> None:
        if self.window.document.folder is not None:
            self.rescan_timer.start()

    def rescan(self) -> None:
        """Read the sidecars again (unchanged ones cost a stat); the newer value wins, with a note."""
        document = self.window.document
        store, folder = document.store, document.folder
        if store is None or folder is None:
            return
        self._watch_sidecars(folder)
        groups = document.groups()

        def apply(batch) -> None:
            if document.store is store:
                document.apply_index(batch)

        def start() -> None:
            scan = lambda stopped: index_shots(store, groups, stopped)  # noqa: E731
            self.window.tasks.run_iter("xmp-rescan", scan, apply, on_error=lambda e: None)

        # Never ahead of the first screen's thumbnails (a rescan registers, so hashes, every file).
        self.window.first_screen.after("xmp-rescan", start)


def _settings_menu(window, sync: SidecarSync) -> None:
    menus = [a.menu() for a in window.menuBar().actions() if a.menu() is not None]
    settings = next((m for m in menus if m.title().replace("&", "") == "Settings"), None)
    if settings is None:
        settings = window.menuBar().addMenu("&Settings")
    menu = settings.addMenu("&XMP Sidecars")
    group = QActionGroup(window)
    current = sync.sidecar_settings()
    for text, naming in NAMING_CHOICES:
        action = QAction(text, window, checkable=True)
        action.setChecked(current.naming == naming)
        action.triggered.connect(lambda _=False, n=naming: sync.set_naming(n))
        group.addAction(action)
        menu.addAction(action)
    menu.addSeparator()
    keywords = QAction("Write Filter Classes as Keywords (product/CLASS)", window, checkable=True)
    keywords.setChecked(current.keywords)
    keywords.toggled.connect(sync.set_keywords)
    menu.addAction(keywords)


class _KeepBadgeVisible(QObject):
    def __init__(self, badge: CanvasBadge):
        super().__init__(badge)
        self.badge = badge

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize and self.badge.isVisible():
            self.badge.raise_()
        return False


def install_culling(window) -> None:
    """The culling bar above the browser, the canvas badge, the XMP settings, and the sidecar sync."""
    bar = CullBar()
    toolbar = QToolBar("Culling", window)
    toolbar.setObjectName("toolbar-culling")
    toolbar.addWidget(bar)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    bar.changed.connect(window.browser.proxy.set_culling)
    window.cull_bar = bar
    window.canvas_badge = CanvasBadge(window)
    window.canvas.installEventFilter(_KeepBadgeVisible(window.canvas_badge))
    window.sidecar_sync = SidecarSync(window)
    _settings_menu(window, window.sidecar_sync)
