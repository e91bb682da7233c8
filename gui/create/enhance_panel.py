"""The Enhance panel: parameters, Run/Cancel, a strip of variants, a before/after compare, Accept.

A standalone widget the main window docks beside the canvas:

    panel = EnhancePanel(bridge, output_dir=folder / "enhanced")
    panel.set_image(path, mask, class_name)      # mask: HxW bool/uint8, upright, the image's size
    panel.variant_accepted.connect(...)          # Path of the written file
    panel.set_batch_folder(folder)               # enables "Enhance all of this class" (the store's images)

All model work runs as engine jobs through `EngineBridge` (the GUI thread never touches torch); each
job's outcome comes back to this panel's own callback on the GUI thread.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.api import (
    BatchItem,
    BatchRequest,
    Cancelled,
    EnhanceRecipe,
    EnhanceRequest,
    Failed,
    Job,
    Outcome,
    Progress,
    Succeeded,
)
from gui.bridge import EngineBridge
from gui.create.enhance_compare import CompareView
from gui.create.enhance_settings import EnhanceSettings
from gui.create.fidelity_badge import FidelityFigures, fill_strip, grade_counts, variant_index
from gui.icons import icon

THUMB = 96


class EnhancePanel(QWidget):
    """Enhance the current image's masked product; Accept writes the chosen variant."""

    variant_accepted = Signal(Path)
    run_finished = Signal(str)  # "done" | "cancelled" | "failed"
    batch_finished = Signal(object)  # BatchReport, or None when cancelled/failed

    def __init__(self, bridge: EngineBridge, output_dir: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.output_dir = output_dir
        self._image: tuple[Path, np.ndarray, str] | None = None
        self._job: Job | None = None  # a single run or a batch: progress and Cancel follow it
        self._batch_folder: Path | None = None
        self._result = None  # the last run's EnhanceResult
        self._cancelling = False  # the cancel notice stays until the job ends (progress must not hide it)
        # A diffusion step takes seconds on a CPU: the elapsed time ticks so a long step never looks stuck.
        self._ticker = QTimer(self, interval=1000)
        self._ticker.timeout.connect(self._tick)
        self._started = 0.0
        self._step_text = ""
        self._build()
        self._update_buttons()

    # -- public API ------------------------------------------------------------------------------------
    def set_image(self, path: Path, mask: np.ndarray, class_name: str = "") -> None:
        """The image to enhance and its product mask (HxW, upright); clears previous results.

        The mask may be the canvas's live array: `run` takes its own copy when a job starts."""
        self._image = (Path(path), np.asarray(mask), class_name)
        self.settings.class_edit.setText(class_name)
        self._show_result(None)
        problem = self.problem()
        self.status.setText(f"{Path(path).name}: {problem or 'ready'}{self._class_note()}")
        self._update_buttons()

    def problem(self) -> str | None:
        """What stops a run now, said before Run: a missing model (and how to fix it), an empty mask, no
        class for a prompt that names one. None when a run can start."""
        recipe = self.settings
        roles = ["inpaint", *(["controlnet_depth", "depth"] if recipe.control_check.isChecked() else [])]
        missing = [p for p in (self.bridge.engine.model_problem(role) for role in roles) if p]
        if missing:
            return " ".join(missing)
        if self._image is not None and not self._image[1].any():
            return "The mask is empty: paint the product or click it with SAM first."
        return None

    def _class_note(self) -> str:
        """Say it when {class} will read "product" (no filter class yet), instead of doing it silently."""
        if (
            "{class}" in self.settings.prompt_edit.toPlainText()
            and not self.settings.class_edit.text().strip()
        ):
            return " (no class yet: {class} reads “product”; type the class to change it)"
        return ""

    def set_output_dir(self, folder: Path) -> None:
        self.output_dir = Path(folder)

    def set_batch_folder(self, folder: Path | None) -> None:
        """The shoot whose `product` images "Enhance all of this class" works on (its project store)."""
        self._batch_folder = folder
        self._update_buttons()

    def run_batch(self, items: list[BatchItem] | None = None, class_name: str | None = None) -> Job | None:
        """Apply the current recipe to every `product` item of `class_name` (default: the current
        image's class) into the output folder: progress per image, Cancel stops it, a rerun resumes.
        Without `items`, the items are the batch folder's images."""
        class_name = class_name if class_name is not None else self.settings.class_edit.text().strip()
        if self._job is not None or self.output_dir is None or (items is None and self._batch_folder is None):
            return None
        recipe = self._checked_recipe()
        if recipe is None:
            return None
        folder = self._batch_folder if items is None else None
        request = BatchRequest(
            recipe, self.output_dir, folder, class_name or None, list(items or []), self.keep_best.isChecked()
        )
        self.status.setText(f"Enhancing every {class_name or 'product'} image…")
        self._start(self.bridge.engine.enhance_batch(request), self._batch_done)
        return self._job

    def _checked_recipe(self) -> EnhanceRecipe | None:
        """The settings as a valid recipe, or None with the reason shown (a bad entry starts nothing)."""
        try:
            recipe = self.recipe()
            recipe.validate()
        except Exception as error:  # the engine's message is written for the user
            self.status.setText(str(error))
            return None
        return recipe

    def recipe(self) -> EnhanceRecipe:
        """The settings as the user set them (raises `EngineError` for a bad LoRA entry)."""
        return self.settings.recipe()

    @property
    def result(self):
        """The last run's `EnhanceResult`, or None."""
        return self._result

    # -- building --------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.settings = EnhanceSettings()
        layout.addWidget(self.settings)
        buttons = QHBoxLayout()
        self.run_button = QPushButton(icon("run"), "Run")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        batch = QHBoxLayout()  # a second row: the panel fits a narrow dock
        self.batch_button = QPushButton("Enhance all of this class")
        self.batch_button.clicked.connect(lambda: self.run_batch())
        batch.addWidget(self.batch_button)
        self.keep_best = QCheckBox("Keep best")
        self.keep_best.setToolTip("Batch: write only the variant whose product stayed truest (fidelity)")
        batch.addWidget(self.keep_best)
        layout.addLayout(batch)
        layout.addWidget(self.progress)  # its own line: the panel fits a narrow dock
        self.status = QLabel("Choose an image with a product mask.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        self.strip = QListWidget()
        self.strip.setViewMode(QListWidget.ViewMode.IconMode)
        self.strip.setFlow(QListWidget.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setIconSize(QSize(THUMB, THUMB))
        self.strip.setFixedHeight(THUMB + 40)
        self.strip.currentRowChanged.connect(self._show_variant)
        layout.addWidget(self.strip)
        self.sort_by_fidelity = QCheckBox("Sort by fidelity")
        self.sort_by_fidelity.setToolTip("Truest product first (colour, structure, print, silhouette)")
        self.sort_by_fidelity.toggled.connect(lambda: self._show_result(self._result))
        self.figures = FidelityFigures()
        layout.addWidget(self.figures)

        # The compare view is shown large on the main canvas area (gui/create/compare_desk.py), not in
        # this dock: the panel keeps its controls.
        self.compare = CompareView()
        controls = QHBoxLayout()
        self.split_slider = QSlider(Qt.Orientation.Horizontal)
        self.split_slider.setRange(0, 1000)
        self.split_slider.setValue(500)
        self.split_slider.valueChanged.connect(lambda value: self.compare.set_split(value / 1000))
        self.compare.split_changed.connect(self._sync_slider)
        self.before_toggle = QCheckBox("Show before (\\)")
        self.before_toggle.toggled.connect(self.compare.set_show_before)
        self.compare.before_toggled.connect(self._sync_before)
        self.accept_button = QPushButton(icon("accept"), "Accept")
        self.accept_button.clicked.connect(self.accept_current)
        controls.addWidget(QLabel("Split"))
        controls.addWidget(self.split_slider, 1)
        controls.addWidget(self.before_toggle)
        layout.addLayout(controls)
        choose = QHBoxLayout()
        choose.addWidget(self.sort_by_fidelity)
        choose.addStretch(1)
        choose.addWidget(self.accept_button)
        layout.addLayout(choose)
        layout.addStretch(1)  # the form keeps its natural height; spare room stays below

    # -- actions ---------------------------------------------------------------------------------------
    def run(self) -> Job | None:
        """Start enhancing the current image with the current settings (one job at a time)."""
        if self._image is None or self._job is not None:
            return None
        problem = self.problem()
        if problem is not None:
            self.status.setText(problem)
            return None
        recipe = self._checked_recipe()
        if recipe is None:
            return None
        path, live_mask, _ = self._image
        class_name = self.settings.class_edit.text().strip()  # the user may correct the filter's class
        # The job's own snapshot: the canvas may keep painting meanwhile.
        request = EnhanceRequest(path, live_mask.copy(), recipe, class_name)
        self._show_result(None)
        self.progress.setValue(0)
        self.status.setText(f"Enhancing {path.name}…")
        self._start(self.bridge.engine.enhance(request), self._run_done)
        return self._job

    def _start(self, job: Job, on_done) -> None:
        self._job = job
        self._cancelling = False
        self._started, self._step_text = time.monotonic(), self.status.text()
        self._ticker.start()
        self.progress.setRange(0, 0)  # moving until the first step reports (model loading takes a while)
        self.bridge.submit(job, on_done=on_done, on_progress=self._on_progress, owner=self)
        self._update_buttons()

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel("cancelled by the user")
            self._cancelling = True
            self.status.setText("Cancelling after the current step…")

    def accept_current(self) -> Job | None:
        """Write the selected variant to the output folder (on the engine thread, atomically)."""
        result, row = self._result, variant_index(self.strip, self.strip.currentRow())
        if result is None or not 0 <= row < len(result.variants) or self.output_dir is None:
            if self.output_dir is None:
                self.status.setText("No output folder set.")
            return None
        job = self.bridge.engine.save_variant(
            result, row, self.output_dir, self.settings.keep_format.isChecked()
        )
        self.bridge.submit(job, on_done=self._saved, owner=self)
        self.status.setText(f"Saving variant {row + 1}…")
        return job

    # -- engine results (GUI thread) ---------------------------------------------------------------------
    def _on_progress(self, progress: Progress) -> None:
        if progress.fraction is None:
            self.progress.setRange(0, 0)  # a long step without fractions: a moving bar, not a still one
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(progress.fraction * 1000))
        if progress.message and not self._cancelling:
            self._step_text = f"Enhancing: {progress.message}"
            self.status.setText(self._step_text)

    def _tick(self) -> None:
        if self._job is not None and not self._cancelling:
            self.status.setText(f"{self._step_text} · {time.monotonic() - self._started:.0f} s")

    def _saved(self, outcome: Outcome) -> None:
        if isinstance(outcome, Succeeded):
            self.status.setText(f"Saved {outcome.value.name} in {outcome.value.parent}")
            self.variant_accepted.emit(outcome.value)
        else:
            self.status.setText(f"Not saved: {getattr(outcome, 'message', 'cancelled')}")

    def _run_done(self, outcome: Outcome) -> None:
        self._job = None
        self._ticker.stop()
        self._cancelling = False
        self.progress.setRange(0, 1000)
        if isinstance(outcome, Succeeded):
            self._show_result(outcome.value)
            self.progress.setValue(1000)
            self.status.setText(f"{len(outcome.value.variants)} variant(s): pick one, compare, Accept.")
            self.run_finished.emit("done")
        elif isinstance(outcome, Cancelled):
            self.progress.setValue(0)
            self.status.setText("Cancelled: nothing was written.")
            self.run_finished.emit("cancelled")
        elif isinstance(outcome, Failed):
            self.status.setText(f"Failed: {outcome.message}")
            self.run_finished.emit("failed")
        self._update_buttons()

    def _batch_done(self, outcome: Outcome) -> None:
        self._job = None
        self._ticker.stop()
        self._cancelling = False
        self.progress.setRange(0, 1000)
        if isinstance(outcome, Succeeded):
            report = outcome.value
            self.progress.setValue(1000)
            self.status.setText(
                f"Batch: {len(report.written)} written, {len(report.already_done)} already done, "
                f"{len(report.skipped)} skipped, {len(report.failed)} failed."
                + grade_counts(report.fidelity.values())
                + "".join(f"\n{path.name}: {why}" for path, why in report.failed[:5])
            )
            self.batch_finished.emit(report)
        else:
            text = "cancelled (finished images are kept; run again to resume)"
            self.status.setText(f"Batch {text if isinstance(outcome, Cancelled) else outcome.message}")
            self.batch_finished.emit(None)
        self._update_buttons()

    # -- display ---------------------------------------------------------------------------------------
    def _show_result(self, result) -> None:
        self._result = result
        self.strip.clear()
        self.compare.set_images(None, None)
        self.figures.set_report(None)
        if result is not None:
            fill_strip(self.strip, result.variants, self.sort_by_fidelity.isChecked(), THUMB)
            self.strip.setCurrentRow(0)
        self._update_buttons()

    def _show_variant(self, row: int) -> None:
        index = variant_index(self.strip, row)
        if self._result is not None and 0 <= index < len(self._result.variants):
            variant = self._result.variants[index]
            self.compare.set_images(self._result.before, variant.preview)
            self.figures.set_report(variant.fidelity)

    def _sync_before(self, on: bool) -> None:
        self.before_toggle.blockSignals(True)
        self.before_toggle.setChecked(on)
        self.before_toggle.blockSignals(False)

    def _sync_slider(self, fraction: float) -> None:
        self.split_slider.blockSignals(True)  # no feedback loop between slider and view
        self.split_slider.setValue(round(fraction * 1000))
        self.split_slider.blockSignals(False)

    def _update_buttons(self) -> None:
        running = self._job is not None
        self.run_button.setEnabled(self._image is not None and not running)
        self.batch_button.setEnabled(self._batch_folder is not None and not running)
        self.cancel_button.setEnabled(running)
        self.accept_button.setEnabled(self._result is not None and not running)
