"""The Enhance panel's settings form: every field of an `EnhanceRecipe`, read back with `recipe()`.

The basics (prompt, class, strength, variants) are always shown; the rest folds away under Advanced. The
values are remembered per user (gui/widgets/remember.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import DEFAULT_TEMPLATE, ENHANCE_NEGATIVE, SCHEDULERS, EnhanceRecipe
from gui.widgets.forms import float_spin, int_spin
from gui.widgets.lora_picker import LoraPicker
from gui.widgets.remember import remember


class EnhanceSettings(QGroupBox):
    """Prompt, ControlNet, LoRA, sampling, seed/variants, mask blur/padding, work size, memory options."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Enhance", parent)
        self._build()

    def recipe(self) -> EnhanceRecipe:
        """The recipe the fields describe (raises `EngineError` for a bad LoRA entry)."""
        seed = self.seed_spin.value()
        return EnhanceRecipe(
            prompt=self.prompt_edit.toPlainText().strip() or DEFAULT_TEMPLATE,
            negative_prompt=self.negative_edit.text(),
            control=self.control_check.isChecked(),
            control_scale=self.control_scale.value(),
            loras=tuple(self.loras.specs()),
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
            soft_edges=self.soft_edges.isChecked(),
            keep_product=self.keep_product.isChecked(),
            fidelity_shape=self.check_shape.isChecked(),
        )

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.prompt_edit = QPlainTextEdit(DEFAULT_TEMPLATE)
        self.prompt_edit.setFixedHeight(60)
        self.prompt_edit.setToolTip("{class} is replaced by the product's class")
        self.negative_edit = QLineEdit(ENHANCE_NEGATIVE)
        self.class_edit = QLineEdit()
        self.class_edit.setPlaceholderText("product (type the class, e.g. hand bag)")
        self.class_edit.setToolTip("From the filter; type to correct it. Fills {class} in the prompt.")
        self.control_check = QCheckBox("Depth ControlNet")
        self.control_check.setChecked(True)
        self.control_scale = float_spin(0.0, 2.0, 1.0, 0.05)
        self.loras = LoraPicker()
        self.strength = float_spin(0.05, 1.0, 0.75, 0.05)
        self.steps = int_spin(1, 150, 30)
        self.guidance = float_spin(1.0, 30.0, 7.5, 0.5)
        self.scheduler = QComboBox()
        self.scheduler.addItems(list(SCHEDULERS))
        self.seed_spin = int_spin(-1, 2**31 - 1, -1)
        self.seed_spin.setSpecialValueText("random")
        self.variants = int_spin(1, 16, 4)
        self.mask_blur = float_spin(0.0, 64.0, 4.0, 1.0)
        self.padding = int_spin(0, 1024, 32)
        self.work_size = int_spin(64, 2048, 512, 64)
        self.mode = QComboBox()
        self.mode.addItems(["Crop to the mask", "Whole image"])
        self.save_memory = QCheckBox("Save GPU memory (CPU offload, VAE tiling)")
        self.retry_offload = QCheckBox("On out-of-memory, retry with offload")
        self.keep_format = QCheckBox("Save JPEG/WebP/TIFF in their format (max quality)")
        # Basic: what changes from shot to shot; Advanced (collapsed): the sampler and memory settings.
        basic = QFormLayout()
        basic.addRow("Prompt", self.prompt_edit)
        basic.addRow("Class", self.class_edit)
        basic.addRow("Strength", self.strength)
        basic.addRow("Variants", self.variants)
        # Product fidelity and soft edges (issue 15): choices of the shot, so among the basics.
        self.soft_edges = QCheckBox("Soft edges")
        self.soft_edges.setToolTip("Blend through a matted alpha in a band at the product's edge")
        self.keep_product = QCheckBox("Keep product, new scene")
        self.keep_product.setToolTip("Repaint everything but the product; the prompt describes the scene")
        self.check_shape = QCheckBox("Check silhouette")
        self.check_shape.setToolTip("Fidelity: also compare the product's outline (SAM; slower)")
        for box in (self.soft_edges, self.keep_product, self.check_shape):
            basic.addRow(box)  # one per line: the panel fits a narrow dock
        layout.addLayout(basic)
        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.toggled.connect(self._show_advanced)
        layout.addWidget(self.advanced_button)
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Negative", self.negative_edit)
        form.addRow(self.control_check, self.control_scale)
        form.addRow("LoRA", self.loras)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance", self.guidance)
        form.addRow("Sampler", self.scheduler)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Mask blur", self.mask_blur)
        form.addRow("Padding", self.padding)
        form.addRow("Work size", self.work_size)
        form.addRow("Area", self.mode)
        form.addRow(self.save_memory)
        form.addRow(self.retry_offload)
        form.addRow(self.keep_format)
        layout.addWidget(self.advanced)
        self.advanced.setVisible(False)
        remember(
            "enhance",
            {
                "prompt": self.prompt_edit,
                "negative": self.negative_edit,
                "control": self.control_check,
                "control_scale": self.control_scale,
                "strength": self.strength,
                "steps": self.steps,
                "guidance": self.guidance,
                "sampler": self.scheduler,
                "variants": self.variants,
                "mask_blur": self.mask_blur,
                "padding": self.padding,
                "work_size": self.work_size,
                "area": self.mode,
                "save_memory": self.save_memory,
                "retry_offload": self.retry_offload,
                "keep_format": self.keep_format,
                "soft_edges": self.soft_edges,
                "keep_product": self.keep_product,
                "check_shape": self.check_shape,
                "advanced_open": self.advanced_button,
            },
        )

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
