"""The Mask panel: tools, brush, overlay settings, mask operations and the filter's regions.

A thin view over the editor state and the document: widget changes go straight to them, and their
changes come back with signals blocked, so the panel keeps no state of its own.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.api import Brush, mask_ops
from engine.project.document import ShootDocument
from engine.project.editor import EditorState
from gui.icons import icon
from gui.review.canvas_content import OVERLAY_COLOURS, class_colour
from gui.review.mask_canvas import MaskCanvas
from gui.theme import mark
from gui.widgets.remember import remember

# Both states drawn by the style sheet, so checked and unchecked buttons keep one size and shape.
TOOL_BUTTON_STYLE = (
    "QPushButton { background-color: palette(button); border: 1px solid palette(mid);"
    " border-radius: 3px; padding: 3px 5px; }"
    " QPushButton:hover:!checked { border-color: palette(highlight); }"
    " QPushButton:checked { background-color: palette(highlight); color: palette(highlighted-text);"
    " border-color: palette(highlight); }"
)


def _slider(low: int, high: int, value: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(value)
    return slider


class MaskPanel(QWidget):
    def __init__(
        self, document: ShootDocument, editor: EditorState, canvas: MaskCanvas, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.document, self.editor, self.canvas = document, editor, canvas
        layout = QVBoxLayout(self)

        tools = QGroupBox("Tool")
        tool_row = QHBoxLayout(tools)
        self.tool_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        for tool, label, tip in (
            ("sam", "SAM (S)", "Click: add · Alt/right click: subtract · drag: box"),
            ("brush", "Brush (B)", "Paint the mask"),
            ("eraser", "Eraser (⇧E)", "Erase the mask"),
        ):
            button = QPushButton(icon(tool), label)
            button.setCheckable(True)
            # Fusion draws a checked button nearly as an unchecked one on a dark palette: the active tool
            # in the theme's highlight (palette roles, so a theme switch follows)
            button.setStyleSheet(TOOL_BUTTON_STYLE)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, t=tool: editor.set_tool(t))
            group.addButton(button)
            tool_row.addWidget(button)
            self.tool_buttons[tool] = button
        self.sam_status = QLabel("")
        self.sam_status.setWordWrap(True)
        mark(self.sam_status, "warning")  # the theme's AA-contrast warning colour
        layout.addWidget(tools)
        layout.addWidget(self.sam_status)

        brush_box = QGroupBox("Brush")
        form = QFormLayout(brush_box)
        self.size_slider = _slider(1, 800, int(editor.brush.radius))
        self.hardness_slider = _slider(0, 100, int(editor.brush.hardness * 100))
        form.addRow("Size  [ ]", self.size_slider)
        form.addRow("Hardness", self.hardness_slider)
        self.size_slider.valueChanged.connect(lambda v: editor.set_brush(radius=v))
        self.hardness_slider.valueChanged.connect(lambda v: editor.set_brush(hardness=v / 100.0))
        layout.addWidget(brush_box)

        overlay = QGroupBox("Overlay")
        form = QFormLayout(overlay)
        self.opacity_slider = _slider(0, 100, int(editor.opacity * 100))
        self.opacity_slider.valueChanged.connect(lambda v: editor.set_overlay(opacity=v / 100.0))
        self.outline_box = QCheckBox("Outline only")
        self.outline_box.toggled.connect(lambda on: editor.set_overlay(outline=on))
        self.show_box = QCheckBox("Show mask")
        self.show_box.setChecked(editor.show_mask)
        self.show_box.toggled.connect(lambda on: editor.set_overlay(show=on))
        self.colour_box = QComboBox()
        self.colour_box.addItem("Auto (contrasting)", "auto")
        for name in OVERLAY_COLOURS:
            self.colour_box.addItem(name.capitalize(), name)
        self.colour_box.currentIndexChanged.connect(
            lambda _: canvas.set_mask_colour(self.colour_box.currentData())
        )
        form.addRow("Colour", self.colour_box)
        remember(
            "mask",
            {"overlay_colour": self.colour_box, "opacity": self.opacity_slider, "outline": self.outline_box},
        )
        form.addRow("Opacity", self.opacity_slider)
        form.addRow(self.outline_box)
        form.addRow(self.show_box)
        layout.addWidget(overlay)

        ops = QGroupBox("Mask operations")
        grid = QGridLayout(ops)
        self.amount = QSpinBox()
        self.amount.setRange(1, 500)
        self.amount.setValue(8)
        self.amount.setSuffix(" px")
        grid.addWidget(QLabel("Amount"), 0, 0)
        grid.addWidget(self.amount, 0, 1)
        buttons = [
            ("Grow", lambda: document.apply("grow", lambda m: mask_ops.grow(m, self.amount.value()))),
            ("Shrink", lambda: document.apply("shrink", lambda m: mask_ops.grow(m, -self.amount.value()))),
            (
                "Feather",
                lambda: document.apply("feather", lambda m: mask_ops.feather(m, self.amount.value())),
            ),
            ("Fill holes", lambda: document.apply("fill holes", mask_ops.fill_holes)),
            ("Invert", lambda: document.apply("invert", mask_ops.invert)),
            ("Clear", lambda: document.apply("clear", lambda m: m * 0)),
        ]
        self.op_buttons: dict[str, QPushButton] = {}
        for i, (label, action) in enumerate(buttons):
            button = QPushButton(label)
            button.clicked.connect(action)
            grid.addWidget(button, 1 + i // 2, i % 2)
            self.op_buttons[label] = button
        layout.addWidget(ops)

        regions = QGroupBox("Filter regions")
        region_layout = QVBoxLayout(regions)
        self.region_list = QListWidget()
        self.region_list.setMaximumHeight(140)
        self.region_list.itemChanged.connect(self._region_toggled)
        region_layout.addWidget(self.region_list)
        row = QHBoxLayout()
        self.union_button = QPushButton("Add to mask")
        self.union_button.clicked.connect(lambda: self._combine(mask_ops.union, "add region"))
        self.subtract_button = QPushButton("Cut from mask")
        self.subtract_button.clicked.connect(lambda: self._combine(mask_ops.subtract, "cut region"))
        row.addWidget(self.union_button)
        row.addWidget(self.subtract_button)
        region_layout.addLayout(row)
        layout.addWidget(regions)

        history = QHBoxLayout()
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(document.undo)
        self.redo_button = QPushButton("Redo")
        self.redo_button.clicked.connect(document.redo)
        history.addWidget(self.undo_button)
        history.addWidget(self.redo_button)
        layout.addLayout(history)
        layout.addStretch(1)

        editor.tool_changed.connect(self._tool_changed)
        editor.brush_changed.connect(self._brush_changed)
        editor.overlay_changed.connect(self._overlay_changed)
        document.review_changed.connect(self._review_changed)
        document.history_changed.connect(self._history_changed)
        self._tool_changed(editor.tool)
        self._review_changed(None)

    # -- model → widgets (signals blocked: no feedback loops) --------------------------------
    def _tool_changed(self, tool: str) -> None:
        for name, button in self.tool_buttons.items():
            with QSignalBlocker(button):
                button.setChecked(name == tool)

    def _brush_changed(self, brush: Brush) -> None:
        with QSignalBlocker(self.size_slider):
            self.size_slider.setValue(round(brush.radius))
        with QSignalBlocker(self.hardness_slider):
            self.hardness_slider.setValue(round(brush.hardness * 100))

    def _overlay_changed(self) -> None:
        for widget, set_value in (
            (self.opacity_slider, lambda: self.opacity_slider.setValue(round(self.editor.opacity * 100))),
            (self.outline_box, lambda: self.outline_box.setChecked(self.editor.outline)),
            (self.show_box, lambda: self.show_box.setChecked(self.editor.show_mask)),
        ):
            with QSignalBlocker(widget):
                set_value()

    def _review_changed(self, review) -> None:
        with QSignalBlocker(self.region_list):
            self.region_list.clear()
            for layer in review.regions if review is not None else []:
                item = QListWidgetItem(f"{layer.class_name}  {layer.score:.2f}")
                pixmap = QPixmap(12, 12)
                pixmap.fill(QColor(*class_colour(layer.class_name)))
                item.setIcon(QIcon(pixmap))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
                self.region_list.addItem(item)
        has_review = review is not None
        for button in self.op_buttons.values():
            button.setEnabled(has_review)
        self.union_button.setEnabled(bool(has_review and review.regions))
        self.subtract_button.setEnabled(bool(has_review and review.regions))
        self._history_changed()

    def _history_changed(self) -> None:
        review = self.document.review
        self.undo_button.setEnabled(bool(review and review.history.can_undo))
        self.redo_button.setEnabled(bool(review and review.history.can_redo))

    # -- widgets → model ---------------------------------------------------------------------
    def _region_toggled(self, item: QListWidgetItem) -> None:
        review = self.document.review
        row = self.region_list.row(item)
        if review is not None and 0 <= row < len(review.regions):
            review.regions[row].visible = item.checkState() == Qt.CheckState.Checked
            self.canvas.refresh_regions()

    def _combine(self, operation, label: str) -> None:
        """Union or subtract the selected regions (all checked ones when none is selected)."""
        review = self.document.review
        if review is None:
            return
        rows = [self.region_list.row(i) for i in self.region_list.selectedItems()]
        rows = rows or [r for r, layer in enumerate(review.regions) if layer.visible]
        result = review.mask
        for row in rows:
            result = operation(result, review.regions[row].mask.astype("uint8") * 255)
        self.document.replace_mask(result, label)

    def add_section(self, widget: QWidget, index: int | None = None) -> None:
        """Add a section (e.g. Refine edge) below the others, above the stretch, or at `index`."""
        layout = self.layout()
        layout.insertWidget(layout.count() - 1 if index is None else index, widget)

    def set_sam_problem(self, message: str | None) -> None:
        """Disable the SAM tool with the reason (e.g. the missing role and how to fix it)."""
        self.tool_buttons["sam"].setEnabled(message is None)
        self.tool_buttons["sam"].setToolTip(message or "Click: add · Alt/right click: subtract · drag: box")
        self.sam_status.setText(message or "")
        self.sam_status.setVisible(bool(message))
