""" "Select: NAME" on the review desk (tiny models): the name box lists the shoot's classes, Select (or
Enter) adds the detected product's SAM mask in one undoable step, and nothing found or a missing detector
is said in the status bar."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from engine.api import SelectResult, Succeeded, default_classes
from gui.review.select_by_name import SelectByNameBox
from tests.fixtures.gui import drop, make_shoot


def open_shoot(qtbot, window, tmp_path):
    folder = make_shoot(tmp_path / "shoot", count=1)
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    return window.document.review


def test_select_adds_the_named_products_mask_in_one_undo_step(qtbot, window, tmp_path):
    review = open_shoot(qtbot, window, tmp_path)
    box = window.mask_panel.findChild(SelectByNameBox)
    names = [box.name.itemText(i) for i in range(box.name.count())]
    assert names == default_classes().names and box.select_button.isEnabled()
    before = review.mask.copy()
    box.name.setCurrentText("hand bag")
    with qtbot.waitSignal(window.select_by_name.selected, timeout=60_000) as selected:
        qtbot.mouseClick(box.select_button, Qt.MouseButton.LeftButton)
    assert selected.args == ["hand bag"]
    assert (review.mask > 0).sum() > (before > 0).sum()  # the product's mask was added
    assert "Selected hand bag" in window.statusBar().currentMessage()
    window.document.undo()
    np.testing.assert_array_equal(review.mask, before)
    # Enter in the name box selects too (free text: any words)
    box.name.setCurrentText("red leather purse")
    with qtbot.waitSignal(window.select_by_name.selected, timeout=60_000):
        qtbot.keyClick(box.name.lineEdit(), Qt.Key.Key_Return)


def test_nothing_found_and_a_missing_detector_are_said_in_the_status_bar(qtbot, window, tmp_path):
    review = open_shoot(qtbot, window, tmp_path)
    selector = window.select_by_name
    before = review.mask.copy()
    selector._done(Succeeded(SelectResult(review.image_id, "shoe", None)))
    assert window.statusBar().currentMessage() == "No shoe found in this image."
    np.testing.assert_array_equal(review.mask, before)
    window.set_models(window.engine.models.with_role("detector", str(tmp_path / "no-detector")))
    with qtbot.waitSignal(
        selector.message, timeout=60_000, check_params_cb=lambda text: text.startswith("Select failed")
    ):
        assert selector.select("shoe")
    message = window.statusBar().currentMessage()
    assert "Model 'detector' not found" in message and "models download detector" in message
    np.testing.assert_array_equal(review.mask, before)


def test_a_result_for_a_mask_edited_meanwhile_is_dropped(qtbot, window, tmp_path):
    review = open_shoot(qtbot, window, tmp_path)
    selector = window.select_by_name
    stale = "The mask changed meanwhile: select hand bag again."
    with qtbot.waitSignal(selector.message, timeout=60_000, check_params_cb=lambda text: text == stale):
        assert selector.select("hand bag")
        painted = review.mask.copy()
        painted[:20, :20] = 255
        window.document.replace_mask(painted, "an edit meanwhile")
    np.testing.assert_array_equal(review.mask, painted)  # the user's edit stays
