"""The Enhance panel: parameters, Run/Cancel, a strip of variants, a before/after compare, Accept.

A standalone widget the main window docks beside the canvas:

    panel = EnhancePanel(bridge, registry_provider=lambda: registry, output_dir=folder / "enhanced")
    panel.set_image(path, mask, class_name)      # mask: HxW bool/uint8, upright, the image's size
    panel.variant_accepted.connect(...)          # Path of the written file

All model work runs as engine jobs through `EngineBridge` (the GUI thread never touches torch); results
come back as the job's outcome on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.enhance import (
    DEFAULT_NEGATIVE,
    DEFAULT_TEMPLATE,
    EnhanceRecipe,
    EnhanceResult,
    enhance,
    save_variant,
)
from engine.jobs import Cancelled, Failed, Job, Priority, Succeeded
from engine.lora import parse_lora_arg
from engine.samplers import SCHEDULERS
from gui.bridge import EngineBridge
from gui.enhance_compare import CompareView, qimage_from_rgb8

THUMB = 96


class EnhancePanel(QWidget):
    """Enhance the current image's masked product; Accept writes the chosen variant."""

    variant_accepted = Signal(Path)
    run_finished = Signal(str)  # "done" | "cancelled" | "failed"

    def __init__(
        self,
        bridge: EngineBridge,
        registry_provider: Callable[[], Any],
        output_dir: Path | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.bridge = bridge
        self.registry_provider = registry_provider
        self.output_dir = output_dir
        self._image: tuple[Path, np.ndarray, str] | None = None
        self._job: Job | None = None
        self._save_job: Job | None = None
        self._result: EnhanceResult | None = None
        self._build()
        bridge.job_progress.connect(self._on_progress)
        bridge.job_finished.connect(self._on_finished)
        self._update_buttons()

    # -- public API ------------------------------------------------------------------------------------
    def set_image(self, path: Path, mask: np.ndarray, class_name: str = "") -> None:
        """The image to enhance and its product mask (HxW, upright); clears previous results."""
        self._image = (Path(path), np.asarray(mask), class_name)
        self.class_edit.setText(class_name)
        self._show_result(None)
        self.status.setText(f"{Path(path).name}: ready")
        self._update_buttons()

    def set_output_dir(self, folder: Path) -> None:
        self.output_dir = Path(folder)

    def recipe(self) -> EnhanceRecipe:
        """The settings as the user set them (raises `EngineError` for a bad LoRA entry)."""
        loras = tuple(parse_lora_arg(t.strip()) for t in self.lora_edit.text().split(";") if t.strip())
        seed = self.seed_spin.value()
        return EnhanceRecipe(
            prompt=self.prompt_edit.toPlainText().strip() or DEFAULT_TEMPLATE,
            negative_prompt=self.negative_edit.text(),
            control=self.control_check.isChecked(),
            control_scale=self.control_scale.value(),
            loras=loras,
            strength=self.strength.value(),
            steps=self.steps.value(),
            guidance=self.guidance.value(),
            scheduler=self.scheduler.currentText(),
            seed=None if seed < 0 else seed,
            variants=self.variants.value(),
            mask_blur=self.mask_blur.value(),
            padding=self.padding.value(),
            work_size=self.work_size.value(),
            mode="masked" if self.mode.currentIndex() == 0 else "whole",
            cpu_offload=self.save_memory.isChecked(),
            vae_tiling=self.save_memory.isChecked(),
            retry_with_offload=self.retry_offload.isChecked(),
        )

    @property
    def result(self) -> EnhanceResult | None:
        return self._result

    # -- building --------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_parameters())
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        layout.addLayout(buttons)
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

        self.compare = CompareView()
        scroll = QScrollArea()
        scroll.setWidget(self.compare)
        scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(scroll, 1)
        controls = QHBoxLayout()
        self.split_slider = QSlider(Qt.Orientation.Horizontal)
        self.split_slider.setRange(0, 1000)
        self.split_slider.setValue(500)
        self.split_slider.valueChanged.connect(lambda value: self.compare.set_split(value / 1000))
        self.compare.split_changed.connect(self._sync_slider)
        self.before_toggle = QCheckBox("Show before")
        self.before_toggle.toggled.connect(self.compare.set_show_before)
        self.accept_button = QPushButton("Accept")
        self.accept_button.clicked.connect(self.accept_current)
        controls.addWidget(QLabel("Split"))
        controls.addWidget(self.split_slider, 1)
        controls.addWidget(self.before_toggle)
        controls.addWidget(self.accept_button)
        layout.addLayout(controls)

    def _build_parameters(self) -> QGroupBox:
        box = QGroupBox("Enhance")
        form = QFormLayout(box)
        self.prompt_edit = QPlainTextEdit(DEFAULT_TEMPLATE)
        self.prompt_edit.setFixedHeight(60)
        self.prompt_edit.setToolTip("{class} is replaced by the product's class")
        self.negative_edit = QLineEdit(DEFAULT_NEGATIVE)
        self.class_edit = QLineEdit()
        self.class_edit.setReadOnly(True)
        self.control_check = QCheckBox("Depth ControlNet")
        self.control_check.setChecked(True)
        self.control_scale = _double(0.0, 2.0, 1.0, 0.05)
        self.lora_edit = QLineEdit()
        self.lora_edit.setPlaceholderText("product.safetensors:0.8; style.safetensors:0.4")
        lora_browse = QPushButton("…")
        lora_browse.clicked.connect(self._browse_lora)
        lora_row = QHBoxLayout()
        lora_row.addWidget(self.lora_edit, 1)
        lora_row.addWidget(lora_browse)
        self.strength = _double(0.05, 1.0, 0.75, 0.05)
        self.steps = _int(1, 150, 30)
        self.guidance = _double(1.0, 30.0, 7.5, 0.5)
        self.scheduler = QComboBox()
        self.scheduler.addItems(list(SCHEDULERS))
        self.seed_spin = _int(-1, 2**31 - 1, -1)
        self.seed_spin.setSpecialValueText("random")
        self.variants = _int(1, 16, 4)
        self.mask_blur = _double(0.0, 64.0, 4.0, 1.0)
        self.padding = _int(0, 1024, 32)
        self.work_size = _int(64, 2048, 512)
        self.work_size.setSingleStep(64)
        self.mode = QComboBox()
        self.mode.addItems(["Crop to the mask", "Whole image"])
        self.save_memory = QCheckBox("Save GPU memory (CPU offload, VAE tiling)")
        self.retry_offload = QCheckBox("On out-of-memory, retry with offload")
        self.keep_format = QCheckBox("Save JPEG/WebP/TIFF in their format (max quality)")
        form.addRow("Prompt", self.prompt_edit)
        form.addRow("Negative", self.negative_edit)
        form.addRow("Class", self.class_edit)
        form.addRow(self.control_check, self.control_scale)
        form.addRow("LoRA", lora_row)
        form.addRow("Strength", self.strength)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance", self.guidance)
        form.addRow("Sampler", self.scheduler)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Variants", self.variants)
        form.addRow("Mask blur", self.mask_blur)
        form.addRow("Padding", self.padding)
        form.addRow("Work size", self.work_size)
        form.addRow("Area", self.mode)
        form.addRow(self.save_memory)
        form.addRow(self.retry_offload)
        form.addRow(self.keep_format)
        return box

    # -- actions ---------------------------------------------------------------------------------------
    def run(self) -> Job | None:
        """Start enhancing the current image with the current settings (one job at a time)."""
        if self._image is None or self._job is not None:
            return None
        try:
            recipe = self.recipe()
            recipe.validate()
        except Exception as error:  # a bad entry is the user's to fix: say it, start nothing
            self.status.setText(str(error))
            return None
        path, mask, class_name = self._image
        provider = self.registry_provider

        def work(ctx):
            return enhance(path, mask, recipe, provider(), ctx, class_name=class_name)

        self._show_result(None)
        self._job = Job(work, name=f"enhance {path.name}", priority=Priority.NORMAL)
        self.progress.setValue(0)
        self.status.setText(f"Enhancing {path.name}…")
        self.bridge.submit(self._job)
        self._update_buttons()
        return self._job

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel("cancelled by the user")
            self.status.setText("Cancelling after the current step…")

    def accept_current(self) -> Job | None:
        """Write the selected variant to the output folder (on the engine thread, atomically)."""
        result, row = self._result, self.strip.currentRow()
        if result is None or not 0 <= row < len(result.variants) or self.output_dir is None:
            if self.output_dir is None:
                self.status.setText("No output folder set.")
            return None
        variant, folder, keep = result.variants[row], self.output_dir, self.keep_format.isChecked()
        job = Job(lambda ctx: save_variant(result, variant, folder, keep), name="save variant")
        self._save_job = job
        self.bridge.submit(job)
        self.status.setText(f"Saving variant {row + 1}…")
        return job

    # -- engine events (GUI thread) ----------------------------------------------------------------------
    def _on_progress(self, job: Job, progress) -> None:
        if job is self._job and progress.fraction is not None:
            self.progress.setValue(int(progress.fraction * 1000))
            if progress.message:
                self.status.setText(f"Enhancing: {progress.message}")

    def _on_finished(self, job: Job) -> None:
        if job is self._save_job:
            self._save_job = None
            if isinstance(job.outcome, Succeeded):
                self.status.setText(f"Saved {job.outcome.value.name}")
                self.variant_accepted.emit(job.outcome.value)
            else:
                self.status.setText(f"Not saved: {getattr(job.outcome, 'message', 'cancelled')}")
            return
        if job is not self._job:
            return
        self._job = None
        outcome = job.outcome
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

    # -- display ---------------------------------------------------------------------------------------
    def _show_result(self, result: EnhanceResult | None) -> None:
        self._result = result
        self.strip.clear()
        self.compare.set_images(None, None)
        if result is not None:
            for variant in result.variants:
                icon = QIcon(
                    QPixmap.fromImage(qimage_from_rgb8(variant.preview)).scaled(
                        THUMB,
                        THUMB,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
                self.strip.addItem(QListWidgetItem(icon, f"seed {variant.seed}"))
            self.strip.setCurrentRow(0)
        self._update_buttons()

    def _show_variant(self, row: int) -> None:
        if self._result is not None and 0 <= row < len(self._result.variants):
            self.compare.set_images(self._result.before, self._result.variants[row].preview)

    def _sync_slider(self, fraction: float) -> None:
        self.split_slider.blockSignals(True)  # no feedback loop between slider and view
        self.split_slider.setValue(round(fraction * 1000))
        self.split_slider.blockSignals(False)

    def _browse_lora(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "LoRA files", "", "LoRA (*.safetensors)")
        if files:
            self.lora_edit.setText("; ".join(f"{f}:1.0" for f in files))

    def _update_buttons(self) -> None:
        running = self._job is not None
        self.run_button.setEnabled(self._image is not None and not running)
        self.cancel_button.setEnabled(running)
        self.accept_button.setEnabled(self._result is not None and not running)


def _int(low: int, high: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


def _double(low: float, high: float, value: float, step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    return spin
