"""Enhance variants compare on the main canvas area (defect 6: a ~40 px scroll pane inside the dock):
split, before/after with backslash from anywhere, side by side of two variants with one zoom and pan."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt

from tests.fixtures.gui import drag, make_shoot


def _rgb(image, x, y):
    colour = image.pixelColor(int(x), int(y))
    return colour.red(), colour.green(), colour.blue()


def test_variants_compare_large_on_the_canvas_area(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        window.open_folder(make_shoot(tmp_path / "shoot", 2))
    window.resize(1280, 720)
    canvas, enhance = window.canvas, window.creative.enhance
    window.editor.set_tool("brush")
    a, b = canvas.to_screen(200, 150), canvas.to_screen(420, 320)
    drag(canvas, [(a.x() + (b.x() - a.x()) * t / 6, a.y() + (b.y() - a.y()) * t / 6) for t in range(7)])
    for box, value in ((enhance.settings.steps, 2), (enhance.settings.work_size, 64),
                       (enhance.settings.variants, 2), (enhance.settings.seed_spin, 3)):  # fmt: skip
        box.setValue(value)
    with qtbot.waitSignal(enhance.run_finished, timeout=120_000) as finished:
        assert enhance.run() is not None
    assert finished.args == ["done"]
    desk = window.creative.compare
    view = desk.view
    assert window.viewer.currentWidget() is desk
    assert view.width() >= 600 and view.height() >= 300  # the middle of the window, not a dock strip

    # Backslash toggles before/after whatever has focus, and the panel's toggle follows.
    window.activateWindow()
    window.browser.setFocus()
    qtbot.keyClick(window.browser, Qt.Key.Key_Backslash)
    assert view.showing_before and enhance.before_toggle.isChecked()
    qtbot.keyClick(window.browser, Qt.Key.Key_Backslash)
    assert not view.showing_before

    # Split: left of the line the original, right of it the variant, at the view's zoom.
    result = enhance.result
    before, first, second = result.before, result.variants[0].preview, result.variants[1].preview
    view.set_split(0.5)
    rect = view.image_rect()
    shown = view.grab().toImage()
    y = rect.center().y()
    for fraction, expected in ((0.15, before), (0.85, first)):
        x = rect.left() + fraction * rect.width()
        ix, iy = int(fraction * before.shape[1]), int((y - rect.top()) / view.scale)
        assert np.abs(np.subtract(_rgb(shown, x, y), expected[iy, ix], dtype=int)).max() <= 40

    # Side by side: two variants, one zoom and pan for both panes.
    desk.set_mode("side")
    desk.other.setCurrentIndex(1)
    view.zoom_to(view.scale * 2, QPointF(view.width() / 4, view.height() / 2))
    view.pan_by(-15, 10)
    shown = view.grab().toImage()
    half = view.width() / 2
    rect = view.image_rect()
    x, y = rect.left() + rect.width() * 0.5, rect.top() + rect.height() * 0.5
    ix, iy = int((x - rect.left()) / view.scale), int((y - rect.top()) / view.scale)
    assert 0 <= x < half
    left, right = _rgb(shown, x, y), _rgb(shown, x + half, y)  # the same image point in both panes
    assert np.abs(np.subtract(left, first[iy, ix], dtype=int)).max() <= 40
    assert np.abs(np.subtract(right, second[iy, ix], dtype=int)).max() <= 40

    # Esc / Back returns to the mask canvas; so does choosing another image.
    desk.back.emit()
    assert window.viewer.currentWidget() is canvas
    window.show_view(desk)
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        window.browser.select_row(1)
    assert window.viewer.currentWidget() is canvas
