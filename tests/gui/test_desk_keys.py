"""Keys on the review desk, whatever has focus: Ctrl+←/→ moves without extending the selection, flags
undo and redo (defect 2); Space held pans from anywhere and never re-presses a panel button (defect 3)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from engine.api import PICK, REJECT
from tests.fixtures.gui import drag, make_shoot


def _open(qtbot, window, tmp_path, count=4):
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        window.open_folder(make_shoot(tmp_path / "shoot", count))
    qtbot.waitUntil(lambda: all(image.image_id for image in window.document.images), timeout=10000)


def _flags(window):
    return [image.flag for image in window.document.images]


def test_ctrl_arrows_move_one_image_and_flags_touch_only_it(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path)
    window.activateWindow()
    window.browser.setFocus()
    qtbot.keyClick(window.browser, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.browser, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert window.browser.current_row() == 2
    assert window.browser.selected_rows() == [2]
    qtbot.keyClick(window.browser, Qt.Key.Key_X)
    assert _flags(window) == [None, None, REJECT, None]
    qtbot.keyClick(window.browser, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.browser, Qt.Key.Key_P)
    assert _flags(window) == [None, PICK, REJECT, None]


def test_flag_changes_undo_and_redo_and_reach_the_store(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path)
    window.browser.select_row(1)
    window.flag_selection(PICK)
    window.flag_selection(REJECT)
    qtbot.keyClick(window.browser, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _flags(window) == [None, PICK, None, None]
    window.undo.undo()
    assert _flags(window) == [None, None, None, None]
    window.undo.redo()
    assert _flags(window) == [None, PICK, None, None]
    store, image_id = window.document.store, window.document.images[1].image_id
    assert store.flag(image_id) == PICK


def _space(widget, kind: QEvent.Type) -> None:
    QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " "))


def test_space_held_pans_whatever_has_focus_and_never_presses_a_button(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path)
    review, canvas = window.document.review, window.canvas
    window.editor.set_tool("brush")
    grow = next(b for b in window.mask_panel.findChildren(type(window.cancel_button)) if b.text() == "Grow")
    grown = []
    grow.clicked.connect(lambda: grown.append(True))
    window.activateWindow()
    grow.setFocus()
    assert QApplication.focusWidget() is grow
    canvas.zoom_to(canvas.scale * 3, canvas.rect().center().toPointF())
    offset, mask = canvas.offset, review.mask.copy()
    _space(grow, QEvent.Type.KeyPress)
    canvas.setFocus()  # a click on the canvas takes the focus while Space is still held
    drag(canvas, [(200, 200), (240, 220), (300, 260)])
    _space(canvas, QEvent.Type.KeyRelease)  # the key-up goes to the widget focused now
    assert not canvas._space_down
    assert canvas.offset != offset  # the drag panned ...
    assert (review.mask == mask).all()  # ... and painted nothing
    assert grown == []  # Space was not a click on the focused Grow button
    assert not grow.isDown()


def test_recorded_changes_and_flags_undo_in_the_order_they_were_made(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path)
    ratings = {0: 0}
    window.flag_selection(PICK)  # row 0 is current

    def rate(value):
        ratings[0] = value

    rate(4)
    window.undo.record("rating", lambda: rate(0), lambda: rate(4))  # how a rating change hooks in
    window.undo.undo()
    assert ratings[0] == 0 and _flags(window)[0] == PICK
    window.undo.undo()
    assert _flags(window)[0] is None
    window.undo.redo()
    window.undo.redo()
    assert ratings[0] == 4 and _flags(window)[0] == PICK


def test_ratings_and_labels_from_the_keys_undo_and_redo(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path)
    window.activateWindow()
    window.browser.setFocus()
    images = window.document.images
    qtbot.keyClick(window.browser, Qt.Key.Key_3)
    qtbot.keyClick(window.browser, Qt.Key.Key_6)  # Lightroom's red label
    assert images[0].rating == 3 and images[0].label is not None
    qtbot.keyClick(window.browser, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert images[0].rating == 3 and images[0].label is None
    qtbot.keyClick(window.browser, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert images[0].rating == 0
    window.undo.redo()
    window.undo.redo()
    assert images[0].rating == 3 and images[0].label is not None
    assert window.document.store.entry(images[0].image_id).rating == 3
