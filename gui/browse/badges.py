"""Culling badges drawn on a thumbnail cell: stars, the colour label, and RAW / RAW+JPEG.

The browser's delegate (gui/browse/thumbnail_browser.py) calls `paint_culling` after its own badges;
the colours are Lightroom's label colours, so a shoot looks the same on both desks.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPolygonF

from engine.api import LABELS, RAW_SUFFIXES
from engine.project.document import ShootImage

_RGB = ((220, 60, 60), (235, 200, 40), (70, 180, 80), (60, 120, 230), (150, 80, 200))
LABEL_COLOURS = {label: QColor(*rgb) for label, rgb in zip(LABELS, _RGB, strict=True)}
STAR_COLOUR, EMPTY_STAR = QColor(255, 200, 40), QColor(255, 255, 255, 70)


def format_badge(image: ShootImage) -> str:
    """ "RAW+JPEG" for a pair shown as one, "RAW" for a RAW alone, "" otherwise."""
    if image.companions:
        return "RAW+JPEG"
    return "RAW" if image.path.suffix.lower() in RAW_SUFFIXES else ""


def culling_text(image: ShootImage) -> str:
    """One line for the canvas and the status bar: "★★★☆☆ · red · RAW+JPEG"."""
    parts = ["★" * image.rating + "☆" * (5 - image.rating)]
    if image.label:
        parts.append(image.label)
    if badge := format_badge(image):
        parts.append(badge)
    return " · ".join(parts)


def _star(centre: QPointF, outer: float) -> QPolygonF:
    import math

    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else outer * 0.45
        angle = -math.pi / 2 + i * math.pi / 5
        points.append(QPointF(centre.x() + radius * math.cos(angle), centre.y() + radius * math.sin(angle)))
    return QPolygonF(points)


def paint_stars(painter: QPainter, area: QRect, rating: int) -> None:
    """Five small stars along the top left of `area`, `rating` of them filled."""
    painter.setPen(Qt.PenStyle.NoPen)
    for i in range(5):
        painter.setBrush(STAR_COLOUR if i < rating else EMPTY_STAR)
        painter.drawPolygon(_star(QPointF(area.x() + 9 + i * 13, area.y() + 9), 6))


def paint_culling(painter: QPainter, area: QRect, image: ShootImage) -> None:
    """Stars (when any), the label as a strip along the picture's bottom edge, the format badge."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if image.rating:
        paint_stars(painter, area, image.rating)
    if image.label in LABEL_COLOURS:
        painter.fillRect(QRect(area.x(), area.bottom() - 3, area.width(), 4), LABEL_COLOURS[image.label])
    badge = format_badge(image)
    if badge:
        font = painter.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.75))
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(badge) + 8
        rect = QRect(area.right() - width - 2, area.bottom() - 40, width, 14)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 160))
        painter.drawRoundedRect(rect, 3, 3)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, badge)
    painter.restore()


SAM_READY_COLOUR = QColor(64, 200, 220)


def sam_ready_dot(area: QRect) -> QRect:
    """Where the "SAM ready" dot sits: the picture's bottom-right corner beside the edited-mask dot, above
    the label strip (the verdict chip takes the bottom-left corner)."""
    return QRect(area.right() - 24, area.bottom() - 12, 9, 9)


def paint_sam_ready(painter: QPainter, area: QRect) -> None:
    """A teal dot: the image's SAM embedding is cached, so a click there answers at once."""
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(SAM_READY_COLOUR)
    painter.drawEllipse(sam_ready_dot(area))
    painter.restore()
