"""Product fidelity on the Enhance panel: a pass/warn/fail badge on each variant's thumbnail, its figures
in words, and the strip's order (as run, or truest product first).

The figures come from the engine with each variant (`Variant.fidelity`, a `FidelityReport`); this module
only shows them. A variant's index in its result rides on its strip item, so sorting never changes which
variant Accept writes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QWidget

from engine.api import FidelityReport
from gui.create.enhance_compare import qimage_from_rgb8

GRADE_COLOURS = {"pass": QColor(46, 160, 67), "warn": QColor(222, 160, 30), "fail": QColor(214, 55, 55)}
GRADE_WORDS = {
    "pass": "product kept",
    "warn": "check the product",
    "fail": "product changed",
}
VARIANT_INDEX = Qt.ItemDataRole.UserRole  # the variant's index in EnhanceResult.variants


def figures_text(report: FidelityReport | None) -> str:
    """The figures for a tooltip or a label, one per line, in a studio user's words."""
    if report is None:
        return "No fidelity figures."
    lines = [
        f"{report.grade.upper()}: {GRADE_WORDS.get(report.grade, '')}",
        f"Colour shift ΔE00: mean {report.delta_e_mean:.1f}, worst 5% {report.delta_e_p95:.1f}",
        f"Structure (SSIM): {report.ssim:.2f}",
        "Print and detail edges: "
        + ("n/a (plain surface)" if report.edge_f1 is None else f"{report.edge_f1:.2f}"),
    ]
    if report.shape_iou is not None:
        lines.append(f"Silhouette overlap: {report.shape_iou:.2f}")
    if report.reasons:
        lines.append("Because: " + "; ".join(report.reasons))
    return "\n".join(lines)


def badge_icon(preview: np.ndarray, report: FidelityReport | None, size: int) -> QIcon:
    """The variant's thumbnail (HxWx3 uint8) with a coloured grade badge in its bottom-left corner."""
    thumb = QPixmap.fromImage(qimage_from_rgb8(preview)).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    canvas = QPixmap(size, size)
    canvas.fill(Qt.GlobalColor.transparent)
    painter = QPainter(canvas)
    painter.drawPixmap((size - thumb.width()) // 2, (size - thumb.height()) // 2, thumb)
    if report is not None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        badge = QRectF(2, size - 19, size - 4, 17)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(GRADE_COLOURS.get(report.grade, QColor(120, 120, 120)))
        painter.drawRoundedRect(badge, 5, 5)
        font = QFont(painter.font())
        font.setBold(True)
        font.setPixelSize(10)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        text = f"{report.grade.upper()}  ΔE {report.delta_e_mean:.1f}"
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return QIcon(canvas)


def variant_order(variants: list, by_fidelity: bool) -> list[int]:
    """Indices into `variants`: as run, or best fidelity first (grade, then figures; ties keep order)."""
    order = list(range(len(variants)))
    if by_fidelity:
        order.sort(key=lambda i: variants[i].fidelity.score if variants[i].fidelity else (9, 0.0))
    return order


def fill_strip(strip: QListWidget, variants: list, by_fidelity: bool, thumb: int) -> None:
    """Put one badged item per variant into `strip` (cleared first), each knowing its variant index."""
    strip.clear()
    for index in variant_order(variants, by_fidelity):
        variant = variants[index]
        report = variant.fidelity
        item = QListWidgetItem(badge_icon(variant.preview, report, thumb), f"seed {variant.seed}")
        item.setData(VARIANT_INDEX, index)
        item.setToolTip(figures_text(report))
        strip.addItem(item)


def grade_counts(reports) -> str:
    """ " Fidelity: 3 pass, 1 warn." for a batch's reports ("" when there are none)."""
    grades = [report.grade for report in reports]
    counts = ", ".join(f"{grades.count(g)} {g}" for g in GRADE_COLOURS if grades.count(g))
    return f" Fidelity: {counts}." if counts else ""


def variant_index(strip: QListWidget, row: int) -> int:
    """The variant shown at `row` of a strip filled by `fill_strip` (-1 for none)."""
    item = strip.item(row) if row >= 0 else None
    return -1 if item is None else int(item.data(VARIANT_INDEX))


class FidelityFigures(QLabel):
    """The selected variant's grade and figures under the strip."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.set_report(None)

    def set_report(self, report: FidelityReport | None) -> None:
        self.report = report
        if report is None:
            self.setText("")
            self.setStyleSheet("")
            return
        colour = GRADE_COLOURS.get(report.grade, QColor(120, 120, 120)).name()
        self.setStyleSheet(f"QLabel {{ border-left: 4px solid {colour}; padding-left: 6px; }}")
        self.setText(figures_text(report))
