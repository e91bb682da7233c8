"""The main window (the review desk): thumbnail browser, mask canvas, side panels, menus, and engine
status in the status bar.

Slow work never runs here: the folder is indexed, the full image decoded and masks written by background
tasks (gui/background.py, latest wins per key), and models run as engine jobs through the bridge.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
)

from engine.api import RAW_SUFFIXES, Engine, ModelError, ModelsConfig, load_models, user_message
from engine.project.document import ShootDocument, load_review, save_review_mask
from engine.project.editor import EditorState
from engine.segment.prompts import PromptSession
from gui.background import BackgroundTasks
from gui.bridge import EngineBridge
from gui.browse.culling import install_culling
from gui.browse.drop_hint import DropHint
from gui.browse.filter_panel import FilterPanel
from gui.browse.first_screen import FirstScreen
from gui.browse.thumbnail_browser import ThumbnailBrowser, ThumbnailModel
from gui.create.creative_panels import CreativePanels
from gui.desk_layout import DeskLayout
from gui.desk_undo import DeskUndo
from gui.folder_opening import FolderOpening
from gui.menus import build_menus, make_application_wide, menu_shortcuts
from gui.review.canvas_content import prepare_content
from gui.review.canvas_preview import CanvasPreview
from gui.review.edge_refiner import EdgeRefineBox, EdgeRefiner
from gui.review.mask_canvas import MaskCanvas
from gui.review.mask_panel import MaskPanel
from gui.review.sam_controller import SamController
from gui.review.select_by_name import SelectByName, SelectByNameBox
from gui.review.space_pan import SpacePan
from gui.settings import user_settings
from gui.theme import apply_theme
from gui.widgets.export_dialog import ExportDialog
from gui.widgets.models_dialog import ModelsDialog
from gui.widgets.shortcuts_sheet import ShortcutsSheet

MASK_SOURCES = {"edited": "your edited mask", "filter": "the filter's mask", "empty": "no mask yet"}
MODEL_CHECK_DELAY_MS = 400


SAVE_RETRY_MS = 5000  # how often a mask that could not be saved (disk full) is tried again


class MainWindow(FolderOpening, DeskLayout, QMainWindow):
    folder_opened = Signal(Path)
    review_shown = Signal(object)  # ReviewImage, once it is on the canvas

    def __init__(
        self,
        engine: Engine | None = None,
        models: ModelsConfig | None = None,
        thumbnail_cache: Path | None = None,
    ):
        super().__init__()
        self.setWindowTitle("ShootStudio")
        self._fit_to_screen()
        self.setAcceptDrops(True)
        self.engine = engine or Engine(models or self._load_models())
        self.bridge = EngineBridge(self.engine, parent=self)
        self.tasks = BackgroundTasks(parent=self)
        self.folder: Path | None = None
        self.document = ShootDocument()
        self.editor = EditorState()
        self.prompts = PromptSession()
        self.undo = DeskUndo(self.document)

        self.thumbnails = ThumbnailModel(self.document, thumbnail_cache, parent=self)
        self.browser = ThumbnailBrowser(self.thumbnails)
        self.first_screen = FirstScreen(self.browser, parent=self)  # hashing and decoding wait for it
        self.canvas = MaskCanvas(self.document, self.editor, self.prompts)
        self.pages = QStackedWidget()
        self.drop_hint = DropHint()
        self.pages.addWidget(self.drop_hint)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.viewer = QStackedWidget()  # the mask canvas, or a page shown in its place (Enhance compare)
        self.viewer.addWidget(self.canvas)
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(self.browser)
        self.pages.addWidget(self.splitter)
        self.browser_mode = ""
        self.space_pan = SpacePan(self, self.canvas)
        self.setCentralWidget(self.pages)

        self.mask_panel = MaskPanel(self.document, self.editor, self.canvas)
        self.sam = SamController(
            self.bridge,
            self.document,
            self.prompts,
            self.canvas,
            self.browser.rows_in_order,
            self.first_screen.after,
        )
        self.browser.itemDelegate().sam_ready = self.sam.ready_images  # the browser shows what is embedded
        self.sam.embedding_ready.connect(lambda _id: self.browser.viewport().update())
        self.edge_refiner = EdgeRefiner(self.bridge, self.document, self.canvas, parent=self)
        self.mask_panel.add_section(EdgeRefineBox(self.edge_refiner))
        self.select_by_name = SelectByName(self.bridge, self.document, parent=self)  # "Select: hand bag"
        self.mask_panel.add_section(SelectByNameBox(self.select_by_name), 2)  # under the tools
        self.filter_panel = FilterPanel(self.document, self.browser, self.bridge, self.tasks)
        build_menus(self)
        install_culling(self)  # stars, labels, sort bar, XMP sidecars (gui/browse/culling.py)
        self.mask_dock = self.add_panel("Mask", self.mask_panel)
        self.filter_dock = self.add_panel("Filter", self.filter_panel)
        self.creative = CreativePanels(self)
        self.mask_dock.raise_()
        self.resizeDocks([self.mask_dock], [340], Qt.Orientation.Horizontal)
        self._show_model_problems()
        self._build_status_bar()
        self.set_browser_mode(str(user_settings().value("browser/mode", "filmstrip")))
        self.restore_layout()
        make_application_wide(self)  # after every hook has added its actions

        self._open_timer = QTimer(self, singleShot=True, interval=80)  # arrow-key repeat: latest wins
        self._open_timer.timeout.connect(self._open_current)
        self.browser.selectionModel().currentChanged.connect(lambda *_: self._open_timer.start())
        self.document.mask_committed.connect(self._autosave)
        # A mask that could not be saved (a full disk) stays in memory and is saved again on this timer.
        self._unsaved = None
        self._save_retry = QTimer(self, singleShot=True, interval=SAVE_RETRY_MS)
        self._save_retry.timeout.connect(self._retry_save)
        self.sam.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.select_by_name.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.canvas.navigate.connect(self.step)

    # -- building ----------------------------------------------------------------------------
    def _load_models(self) -> ModelsConfig:
        try:
            return load_models()
        except ModelError as error:
            message = str(error)
            QTimer.singleShot(0, self, lambda: self.statusBar().showMessage(message, 15000))
            return ModelsConfig.defaults()

    def set_theme(self, name: str) -> None:
        """Settings → Theme: dark (the default) or light, remembered for the next start."""
        apply_theme(QApplication.instance(), name)
        user_settings().setValue("look/theme", name)
        self.canvas.refresh_regions()

    def toggle_before(self) -> None:
        """Backslash: before/after of the compare on the canvas (Lightroom's key)."""
        view = getattr(self.viewer.currentWidget(), "view", None)
        if view is not None and hasattr(view, "toggle_before"):
            view.toggle_before()

    def show_shortcuts(self) -> ShortcutsSheet:
        sheet = ShortcutsSheet(menu_shortcuts(self), parent=self)
        sheet.show()
        return sheet

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.job_label = QLabel("")
        self.job_label.setMaximumWidth(360)  # a long job message must not widen the window
        self.job_progress = QProgressBar()
        self.job_progress.setMaximumWidth(200)
        self.job_progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.bridge.cancel_all)
        self.zoom_label = QLabel("")
        bar.addPermanentWidget(self.zoom_label)
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.job_progress)
        bar.addPermanentWidget(self.cancel_button)
        self.bridge.job_started.connect(lambda job: self.job_label.setText(job.name))
        self.bridge.job_progress.connect(self._show_progress)
        self.bridge.busy_changed.connect(self._show_busy)
        self.canvas.view_changed.connect(lambda: self.zoom_label.setText(f"{self.canvas.scale * 100:.0f}%"))
        bar.showMessage("Ready")

    # -- engine status -----------------------------------------------------------------------
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
        if busy:
            self.job_progress.setRange(0, 0)
        else:
            self.job_label.setText("")

    # -- the image under review --------------------------------------------------------------
    def _open_current(self) -> None:
        row = self.browser.current_row()
        store = self.document.store
        if row is None or store is None:
            return
        image = self.document.images[row]
        if self.document.review is not None and self.document.review.row == row:
            return
        self.canvas.set_busy(f"Loading {image.path.name}…")
        self.statusBar().showMessage(f"{image.path.name} — loading…")

        def shown(content) -> None:
            if self.document.store is not store:
                return  # another folder opened meanwhile
            self.canvas.set_busy("")
            self.canvas.set_content(content)
            self.document.set_review(content.review)
            width, height = content.review.size
            source = MASK_SOURCES.get(content.review.mask_source, content.review.mask_source)
            self.statusBar().showMessage(f"{image.path.name} — {width}×{height} — {source}")
            self.review_shown.emit(content.review)

        def failed(error: BaseException) -> None:
            if self.document.store is store:
                self.canvas.set_content(None)
                self.document.set_review(None)
                self.canvas.set_busy(f"Cannot open {image.path.name}: {error}")
                # The status bar describes the image now selected, never the previous one.
                self.statusBar().showMessage(f"{image.path.name} — cannot open: {error}")

        def load():
            return prepare_content(load_review(store, row, image.path, image.image_id))

        if image.path.suffix.lower() in RAW_SUFFIXES:  # its embedded preview at once, the working image next
            cache = store.raw_cache
            self.tasks.run(
                "review-preview",
                lambda: CanvasPreview.load(image.path, cache),
                lambda preview: self._show_preview(preview, row, store),
            )
        # Latest wins: arrowing through images decodes only the one the user stops at; on a fresh open
        # the full decode waits until the first screen of thumbnails is painted.
        self.first_screen.after("review", lambda: self.tasks.run("review", load, shown, failed))

    def _show_preview(self, preview: CanvasPreview | None, row: int, store) -> None:
        """A RAW's embedded preview on the canvas until its working image arrives (nothing to edit yet)."""
        if preview is None or self.document.store is not store or self.browser.current_row() != row:
            return
        if self.document.review is not None and self.document.review.row == row:
            return  # the working image came first (a small file)
        self.document.set_review(None)  # the previous image's mask is no longer under the pointer
        self.canvas.set_preview(preview)
        self.zoom_label.setText("")  # the preview is drawn to fit; the zoom returns with the image
        self.canvas.set_busy(f"{self.document.images[row].path.name}: embedded preview; decoding the RAW…")

    def step(self, delta: int) -> None:
        """Previous (-1) / next (+1) image in the browser's order."""
        index = self.browser.currentIndex()
        target = self.browser.proxy.index(max(0, index.row() + delta), 0)
        if target.isValid():
            # Select just the target: setCurrentIndex() would read the held Ctrl as "extend the selection",
            # and P / X / U would then flag every image passed over.
            flags = QItemSelectionModel.SelectionFlag
            self.browser.selectionModel().setCurrentIndex(target, flags.ClearAndSelect | flags.Rows)
            self.browser.scrollTo(target)

    def flag_selection(self, flag: str | None) -> None:
        """P / X / U on the selected images (the current one when none is selected)."""
        rows = self.browser.selected_rows() or (
            [self.browser.current_row()] if self.browser.current_row() is not None else []
        )
        if rows and self.document.store is not None:
            self.undo.set_flag(rows, flag)

    def zoom(self, factor: float) -> None:
        centre = self.canvas.rect().center().toPointF()
        self.canvas.zoom_to(self.canvas.scale * factor, centre)

    # -- saving ------------------------------------------------------------------------------
    def _autosave(self, review) -> None:
        width, height = review.size
        self.statusBar().showMessage(f"{review.path.name} — {width}×{height} — {MASK_SOURCES['edited']}")
        snapshot, store = self.document.save_snapshot(), self.document.store
        if snapshot is None or store is None:
            return
        image_id, mask = snapshot
        # Latest wins per image: an older snapshot never lands after a newer one.
        self.tasks.run(
            ("save-mask", image_id),
            lambda: save_review_mask(store, image_id, mask),
            on_done=lambda _: self._saved(review),
            on_error=lambda error: self._save_failed(error, review),
        )

    def _save_failed(self, error: BaseException, review=None) -> None:
        message = (
            f"Could not save the mask: {user_message(error)}. Your edit is kept in memory and saved "
            "as soon as there is room."
        )
        self.statusBar().showMessage(message)  # stays until the mask is saved
        self._unsaved = review
        if review is not None:
            self._save_retry.start()

    def _retry_save(self) -> None:
        if self._unsaved is not None and self._unsaved is self.document.review:
            self._autosave(self._unsaved)

    def _saved(self, review) -> None:
        if self._unsaved is review:
            self._unsaved = None
            self._save_retry.stop()
            self.statusBar().showMessage(f"{review.path.name}: mask saved", 5000)

    # -- settings ----------------------------------------------------------------------------
    def show_models_dialog(self) -> ModelsDialog:
        dialog = ModelsDialog(self.engine.models, parent=self, bridge=self.bridge)
        dialog.config_saved.connect(self.set_models)
        dialog.show()
        return dialog

    def show_export_dialog(self) -> ExportDialog | None:
        """File → Export… for the open shoot (the selected images offered as one choice)."""
        if self.folder is None:
            self.statusBar().showMessage("Open a shoot folder to export from it.", 5000)
            return None
        images = self.document.images
        selected = [images[row].path for row in self.browser.selected_rows()]
        classes = sorted({name for image in images for name in image.classes})
        dialog = ExportDialog(self.bridge, self.folder, selected, classes, parent=self)
        dialog.show()
        return dialog

    def set_models(self, config: ModelsConfig) -> None:
        self.engine.set_models(config)
        self.sam.refresh_problem()
        self._show_model_problems()

    def _show_model_problems(self) -> None:
        """Model actions say which role is missing and how to fix it; browsing and painting still work."""
        self.mask_panel.set_sam_problem(self.sam.problem)
        sam, engine = self.sam.problem, self.engine
        self.filter_panel.set_problem(sam)  # CLIP is checked in the background below

        def show(clip: str | None) -> None:
            self.filter_panel.set_problem(" ".join(p for p in (sam, clip) if p) or None)

        def check() -> None:
            self.tasks.run(
                "model-check", lambda: engine.model_problem("clip"), show, on_error=lambda e: show(str(e))
            )

        # Looking a role up in the Hugging Face cache imports huggingface_hub (~0.5 s, holding the GIL): off
        # the UI thread, and a moment after start-up so that the first paint is not held back.
        self._model_check = QTimer(self, singleShot=True, interval=MODEL_CHECK_DELAY_MS)
        self._model_check.timeout.connect(check)
        self._model_check.start()

    # -- closing -----------------------------------------------------------------------------
    def shutdown_engine(self) -> None:
        """Cancel the jobs, let the writes land, and stop every thread and timer the window started."""
        for timer in self.findChildren(QTimer):
            timer.stop()
        self.space_pan.close()
        self._close_folder()
        self.tasks.close()
        self.thumbnails.close()
        self.bridge.shutdown()

    def closeEvent(self, event) -> None:
        self.save_layout()
        self.bridge.cancel_all()
        self.tasks.flush()
        super().closeEvent(event)
