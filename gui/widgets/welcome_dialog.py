"""First run: what each model role is for, and three ways to get its weights.

Opened at start when no role's weights are found. For each role: what it is for, the download size, and
the weights already on this machine (Hugging Face cache, AUTOMATIC1111, ComfyUI; found off the UI thread),
then "Use found weights in place", "Choose…" a file or folder, or "Download" (an engine job with progress).
Every choice is written to the user's models.toml at once (atomically, keeping its comments), the file the
command line reads too, and `config_saved` tells the window.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
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
    DOWNLOAD_SIZES,
    FILE_ROLES,
    ROLE_DESCRIPTIONS,
    ROLES,
    Cancelled,
    Discovery,
    FoundWeights,
    ModelError,
    ModelsConfig,
    Outcome,
    Progress,
    Succeeded,
    default_config_path,
    discover,
    role_problem,
    use_in_place,
)

ROLE_PURPOSES = {
    "sam": "Mask review: click the product to select it",
    "clip": "Filter: which photos show the product",
    "inpaint": "Enhance: repaints around the product",
    "controlnet_depth": "Enhance: keeps the scene's shape",
    "depth": "Enhance: the depth map ControlNet follows",
    "txt2img": "Generate visuals; base for LoRA training",
    "captioner": "LoRA training: captions the photos",
    "matting": "Export and Refine edge: soft hair-fine edges",
    "detector": "Select by name; fast text-prompted filter",
}


def purpose(role: str) -> str:
    """What a role is for, in the user's words (a role added later falls back to its description)."""
    return ROLE_PURPOSES.get(role) or ROLE_DESCRIPTIONS.get(role, "")


def human_size(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


COLUMNS = ("Role", "What it is for", "Download", "Status", "Found on this computer", "")


def nothing_found(config: ModelsConfig) -> bool:
    """True on a machine with no weights for any role: the first run."""
    return all(role_problem(config, role) is not None for role in ROLES)


class WelcomeDialog(QDialog):
    config_saved = Signal(object)  # ModelsConfig, after models.toml was written

    def __init__(
        self,
        config: ModelsConfig,
        bridge,  # gui.bridge.EngineBridge: downloads run as engine jobs
        tasks,  # gui.background.BackgroundTasks: the search runs off the UI thread
        save_path: Path | None = None,
        search: Callable[[], Discovery] = discover,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Welcome to ShootStudio")
        self.resize(1100, 420)
        self.config = config
        self.bridge = bridge
        self.tasks = tasks
        self.search = search
        self.save_path = save_path or config.source or default_config_path()
        self.found = Discovery()
        self.combos: dict[str, QComboBox] = {}

        layout = QVBoxLayout(self)
        intro = QLabel(
            "ShootStudio runs its models on this computer. No model weights were found yet: use weights "
            "you already have (found below), choose a file or folder, or download the standard ones. "
            f"Choices are saved to {self.save_path}, which the command line reads too."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(len(ROLES), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table)
        self.message = QLabel("Looking for weights on this computer…")
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.use_found_button = QPushButton("Use found weights in place")
        self.use_found_button.setEnabled(False)
        self.use_found_button.clicked.connect(self.use_found)
        self.look_button = QPushButton("Look in a folder…")
        self.look_button.setToolTip("An AUTOMATIC1111 or ComfyUI folder (or its models/ folder)")
        self.look_button.clicked.connect(self._look_in_folder)
        self.download_button = QPushButton("Download missing")
        self.download_button.clicked.connect(lambda: self.download(self.missing_roles()))
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self._cancel_download)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        for button in (self.use_found_button, self.look_button, self.download_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self._download_job = None
        self.refresh()
        self.start_search(self.search)

    # -- the table ----------------------------------------------------------------------------
    def refresh(self) -> None:
        for row, role in enumerate(ROLES):
            problem = role_problem(self.config, role)
            cells = (
                role,
                purpose(role),
                f"about {human_size(DOWNLOAD_SIZES[role])}" if role in DOWNLOAD_SIZES else "",
                "found" if problem is None else "missing",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setToolTip(problem or str(self.config.spec(role).local_path()) if column == 3 else text)
                if column == 3:
                    item.setForeground(Qt.GlobalColor.darkGreen if problem is None else Qt.GlobalColor.red)
                self.table.setItem(row, column, item)
            combo = QComboBox()
            offered = self.found.by_role.get(role, [])
            for found in offered:
                combo.addItem(f"{found.label}, {human_size(found.size_bytes)} — {found.source}", found)
                combo.setItemData(combo.count() - 1, str(found.path), Qt.ItemDataRole.ToolTipRole)
            if not offered:
                combo.addItem("none found")
            combo.setEnabled(bool(offered))
            self.combos[role] = combo
            self.table.setCellWidget(row, 4, combo)
            choose = QPushButton("Choose…")
            choose.clicked.connect(lambda _=False, r=role: self._choose(r))
            self.table.setCellWidget(row, 5, choose)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)
        self.use_found_button.setEnabled(bool(self.found.by_role))

    def missing_roles(self) -> list[str]:
        return [r for r in ROLES if role_problem(self.config, r) is not None and r in DOWNLOAD_SIZES]

    # -- finding what is on this computer ------------------------------------------------------
    def start_search(self, search: Callable[[], Discovery]) -> None:
        self.tasks.run("welcome-discover", search, self._searched, self._search_failed)

    def _searched(self, found: Discovery) -> None:
        for items in found.by_role.values():  # a second search (another folder) adds to the first
            for item in items:
                self.found.add(item)
        self.found.lora_folders += [f for f in found.lora_folders if f not in self.found.lora_folders]
        self.found.searched += found.searched
        roles = sorted(self.found.by_role)
        if self._download_job is not None:  # the download's progress owns the line until it ends
            self.refresh()
            return
        self.message.setText(
            f"Found weights for {', '.join(roles)} in {len(self.found.searched)} place(s)."
            if roles
            else "No weights found in the Hugging Face cache or in AUTOMATIC1111/ComfyUI folders. "
            "Choose files, look in another folder, or download."
        )
        self.refresh()

    def _search_failed(self, error: BaseException) -> None:
        self.message.setText(f"Looking for weights failed: {error}")

    def _look_in_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "AUTOMATIC1111 or ComfyUI folder", str(Path.home()))
        if folder:
            self.start_search(lambda: discover([Path(folder)], hf_cache=Path(folder) / "no-hf-cache"))

    # -- the three ways ------------------------------------------------------------------------
    def use_found(self) -> None:
        """Point every role that has found weights at the one shown in its row."""
        chosen = [c.currentData() for c in self.combos.values() if isinstance(c.currentData(), FoundWeights)]
        self.apply(chosen)

    def _choose(self, role: str) -> None:
        start = str(self.config.spec(role).local_path().parent)
        if role in FILE_ROLES:
            chosen, _ = QFileDialog.getOpenFileName(
                self, f"Weights for {role}", start, "Weights (*.pth *.pt *.bin *.safetensors *.ckpt);;All (*)"
            )
        else:
            chosen = QFileDialog.getExistingDirectory(self, f"Folder for {role}", start)
        if chosen:
            self.choose_path(role, Path(chosen))

    def choose_path(self, role: str, path: Path) -> None:
        """Point `role` at a file or folder the user picked, keeping the role's options."""
        options = dict(self.config.spec(role).options)
        self.apply([FoundWeights(role, path.resolve(), "chosen by you", role, 0, options)])

    def apply(self, chosen: list[FoundWeights]) -> None:
        if not chosen:
            return
        try:
            use_in_place(chosen, self.save_path)
            self.config = ModelsConfig.load(self.save_path)
        except (ModelError, OSError) as error:
            self.message.setText(f"Could not save {self.save_path}: {error}")
            return
        self.message.setText(f"Saved {', '.join(f.role for f in chosen)} to {self.save_path}.")
        self.refresh()
        self.config_saved.emit(self.config)

    def download(self, roles: list[str]) -> None:
        if not roles or self._download_job is not None:
            return
        total = sum(DOWNLOAD_SIZES.get(r, 0) for r in roles)
        self.message.setText(f"Downloading {', '.join(roles)} (about {human_size(total)})…")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.download_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self._download_job = self.bridge.submit(
            self.bridge.engine.download_models(roles),
            on_done=self._downloaded,
            on_progress=self._download_progress,
            owner=self,
        )

    def _cancel_download(self) -> None:
        if self._download_job is not None:
            self._download_job.cancel()

    def _download_progress(self, value: Progress) -> None:
        if value.total:
            self.progress.setValue(int(1000 * value.done / value.total))
        self.message.setText(value.message or self.message.text())

    def _downloaded(self, outcome: Outcome) -> None:
        self._download_job = None
        self.progress.setVisible(False)
        self.download_button.setEnabled(True)
        self.cancel_button.setVisible(False)
        if isinstance(outcome, Succeeded):
            self.apply(outcome.value)
        elif isinstance(outcome, Cancelled):
            self.message.setText("Download cancelled; what was fetched so far is kept and resumes next time.")
        else:
            self.message.setText(f"Download failed: {outcome.message}")


def show_welcome_if_needed(window, search: Callable[[], Discovery] = discover) -> WelcomeDialog | None:
    """The first-run hook: open the dialog beside `window` (a MainWindow) when no weights are found."""
    if not nothing_found(window.engine.models):
        return None
    return show_welcome(window, search)


def show_welcome(window, search: Callable[[], Discovery] = discover) -> WelcomeDialog:
    """The dialog on demand (Help → Find Models…): look for weights, download, or choose files."""
    dialog = WelcomeDialog(window.engine.models, window.bridge, window.tasks, search=search, parent=window)
    dialog.config_saved.connect(window.set_models)
    dialog.open()
    return dialog
