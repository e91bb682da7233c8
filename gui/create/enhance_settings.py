"""The Enhance panel's settings form: every field of an `EnhanceRecipe`, read back with `recipe()`."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from engine.diffusion.enhance import DEFAULT_NEGATIVE, DEFAULT_TEMPLATE, EnhanceRecipe
from engine.diffusion.lora import parse_lora_arg
from engine.diffusion.samplers import SCHEDULERS


class EnhanceSettings(QGroupBox):
    """Prompt, ControlNet, LoRA, sampling, seed/variants, mask blur/padding, work size, memory options."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Enhance", parent)
        self._build()

    def recipe(self) -> EnhanceRecipe:
        """The recipe the fields describe (raises `EngineError` for a bad LoRA entry)."""
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

    def _build(self) -> None:
        form = QFormLayout(self)
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

    def _browse_lora(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "LoRA files", "", "LoRA (*.safetensors)")
        if files:
            self.lora_edit.setText("; ".join(f"{f}:1.0" for f in files))


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
