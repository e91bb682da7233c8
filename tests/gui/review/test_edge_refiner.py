"""Refine edge on the review desk: the matting job's band, alpha and result on the canvas, then Apply
makes the soft edge the mask in one undoable step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from engine.api import RefinedEdge
from gui.review.edge_refiner import EdgeRefineBox
from tests.fixtures.gui import drop, make_shoot


def open_with_mask(qtbot, window, tmp_path):
    folder = make_shoot(tmp_path / "shoot", count=1)
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    square = np.zeros_like(window.document.review.mask)
    square[120:360, 160:480] = 255
    window.document.replace_mask(square, "test mask")
    return window.document.review


def screen_colour(canvas, x: float, y: float) -> tuple[int, int, int]:
    point = canvas.to_screen(x, y)
    colour = canvas.grab().toImage().pixelColor(round(point.x()), round(point.y()))
    return colour.red(), colour.green(), colour.blue()


def test_refine_edge_shows_band_alpha_and_result_then_applies_a_soft_mask(qtbot, window, tmp_path):
    review = open_with_mask(qtbot, window, tmp_path)
    box = window.mask_panel.findChild(EdgeRefineBox)
    assert box is not None and not box.apply_button.isEnabled()
    box.band.setValue(16)
    with qtbot.waitSignal(window.edge_refiner.refined, timeout=60_000) as refined:
        qtbot.mouseClick(box.refine_button, Qt.MouseButton.LeftButton)
    edge = refined.args[0]
    assert isinstance(edge, RefinedEdge) and box.apply_button.isEnabled()
    canvas = window.canvas
    # Band view: the band across the left edge (x = 160) is tinted, the product's middle is not.
    on_band, inside = screen_colour(canvas, 160, 240), screen_colour(canvas, 320, 240)
    assert on_band[2] > on_band[0] + 60  # cyan over the grey backdrop
    box.view.setCurrentText("Alpha")
    assert screen_colour(canvas, 320, 240) == (255, 255, 255)  # alpha 1 inside, as grey
    assert screen_colour(canvas, 152, 240)[0] not in (0, 255)  # soft in the band
    box.view.setCurrentText("Off")
    assert screen_colour(canvas, 320, 240) != (255, 255, 255) and screen_colour(canvas, 320, 240) == inside
    before = review.mask.copy()
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    mask, band = review.mask, edge.trimap == 128
    assert set(np.unique(mask[~band])) == {0, 255}
    assert ((mask[band] > 0) & (mask[band] < 255)).all()
    assert not box.apply_button.isEnabled() and window.edge_refiner.edge is None
    window.document.undo()
    np.testing.assert_array_equal(review.mask, before)


def test_a_result_for_an_edited_mask_is_dropped_as_stale(qtbot, window, tmp_path):
    review = open_with_mask(qtbot, window, tmp_path)
    refiner = window.edge_refiner
    stale = "The mask changed meanwhile: Refine edge again."
    with qtbot.waitSignal(refiner.message, timeout=60_000, check_params_cb=lambda text: text == stale):
        refiner.refine(8)
        grown = review.mask.copy()
        grown[100:120, 160:480] = 255
        window.document.replace_mask(grown, "an edit meanwhile")
    assert refiner.edge is None and refiner._image is None
