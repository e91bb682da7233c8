"""The mask canvas on its own: zoom and pan keep the image where the user expects, the overlay shows the
mask in its colour (filled or outlined), and painting only redraws what it touched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from engine.project.document import ReviewImage, ShootDocument
from engine.project.editor import EditorState
from engine.segment.prompts import PromptSession
from gui.review.canvas_content import prepare_content
from gui.review.mask_canvas import MaskCanvas
from tests.fixtures.gui import drag, mouse


@pytest.fixture
def canvas(qtbot):
    rgb = np.zeros((2000, 3000, 3), np.uint8)
    rgb[..., 1] = 90  # dark green everywhere
    document = ShootDocument()
    review = ReviewImage(0, "id", Path("x.jpg"), rgb, np.zeros((2000, 3000), np.uint8), "empty", [])
    canvas = MaskCanvas(document, EditorState(), PromptSession())
    qtbot.addWidget(canvas)
    canvas.resize(900, 600)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_content(prepare_content(review))
    document.set_review(review)
    return canvas


def test_fit_actual_size_and_wheel_zoom_about_the_cursor(canvas):
    assert canvas.scale == pytest.approx(0.3)  # 900/3000 and 600/2000
    canvas.actual_size()
    assert canvas.scale == 1.0
    canvas.fit()
    anchor = QPointF(600, 200)
    before = canvas.to_image(anchor)
    wheel = QWheelEvent(
        anchor,
        canvas.mapToGlobal(anchor),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, wheel)
    assert canvas.scale == pytest.approx(0.3 * 1.25**2)
    assert canvas.to_image(anchor) == pytest.approx(before)


def test_space_drag_and_middle_button_pan(qtbot, canvas):
    canvas.actual_size()
    start = canvas.offset
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    drag(canvas, [(100, 100), (150, 130), (200, 160)])
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.offset == pytest.approx((start[0] + 100, start[1] + 60))
    assert not canvas.document.review.mask.any()  # panning never paints
    drag(canvas, [(300, 300), (280, 300)], button=Qt.MouseButton.MiddleButton)
    assert canvas.offset == pytest.approx((start[0] + 80, start[1] + 60))


def test_the_overlay_shows_the_mask_filled_or_outlined(qtbot, canvas):
    canvas.editor.set_tool("brush")
    canvas.editor.set_brush(radius=300)
    centre = canvas.to_screen(1500, 1000)
    drag(canvas, [(centre.x(), centre.y()), (centre.x() + 1, centre.y())])
    canvas._hover = None  # no brush cursor in the pixels we read
    image = canvas.grab().toImage()
    inside = image.pixelColor(int(centre.x()), int(centre.y()))
    outside = image.pixelColor(20, 300)
    assert inside.red() > 80 and inside.red() > outside.red() + 60  # tinted with the mask colour
    assert outside.green() == pytest.approx(90, abs=3)
    canvas.editor.set_overlay(outline=True)
    image = canvas.grab().toImage()
    assert image.pixelColor(int(centre.x()), int(centre.y())).red() < 10  # the inside is clear now
    # The 128 contour of a 300 px brush with a soft rim lies between 240 and 300 px from its centre.
    y = int(centre.y())
    ring = [image.pixelColor(int(centre.x() + d * canvas.scale), y).getRgb()[:3] for d in range(230, 310, 2)]
    assert tuple(canvas.mask_colour()) in ring  # auto: the colour farthest from the green picture


def test_a_stroke_repaints_only_near_the_brush(qtbot, canvas):
    painted = []
    original = canvas.paintEvent

    def spy(event):
        painted.append(event.rect())
        original(event)

    canvas.paintEvent = spy
    canvas.editor.set_tool("brush")
    canvas.editor.set_brush(radius=50)
    qtbot.wait(50)
    painted.clear()
    start = canvas.to_screen(500, 500)
    mouse(canvas, QEvent.Type.MouseButtonPress, start)
    mouse(canvas, QEvent.Type.MouseMove, start + QPointF(10, 0))
    qtbot.wait(50)
    assert painted, "the stroke was not drawn"
    biggest = max(r.width() * r.height() for r in painted)
    assert biggest < canvas.width() * canvas.height() / 10
    mouse(canvas, QEvent.Type.MouseButtonRelease, start + QPointF(10, 0))
