"""The review desk, driven through its real widgets offscreen: drop a folder, see thumbnails, paint,
undo, click with SAM, reopen and find the edit, cull with P / X / U."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from engine.models.config import ModelsConfig
from gui.main_window import MainWindow
from tests.fixtures.gui import click, drag, drop, make_shoot


def open_by_drop(qtbot, window, folder):
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    return window.document.review


def test_dropping_a_folder_fills_the_browser_with_thumbnails(qtbot, window, tmp_path):
    folder = make_shoot(tmp_path / "shoot", count=8)
    (folder / "zz_broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    window.set_browser_mode("grid")  # every cell on screen (the filmstrip loads only the visible ones)
    open_by_drop(qtbot, window, folder)
    model = window.thumbnails
    assert model.rowCount() == 9
    qtbot.waitUntil(lambda: model.arrived >= 9, timeout=10000)
    shown = [model.data(model.index(r), Qt.ItemDataRole.DecorationRole) for r in range(9)]
    names = [model.data(model.index(r)) for r in range(9)]
    broken = names.index("zz_broken.jpg")
    assert shown[broken] is None and "cannot show" in model.data(
        model.index(broken), Qt.ItemDataRole.ToolTipRole
    )
    thumbs = [s for r, s in enumerate(shown) if r != broken]
    assert all(isinstance(t, QImage) and t.width() == 256 for t in thumbs)
    # The thumbnail has the picture in it: light backdrop at the corner, dark product in the middle.
    first = thumbs[0]
    assert first.pixelColor(2, 2).lightness() > 200
    assert first.pixelColor(first.width() // 2, first.height() // 2).lightness() < 140
    # Indexing fills in ids in the background; the broken file is listed, not fatal.
    qtbot.waitUntil(lambda: all(img.image_id for img in window.document.images), timeout=10000)
    window.grab().save(str(tmp_path / "browser.png"))


def test_a_brush_stroke_undoes_exactly_and_comes_back_after_reopening(qtbot, window, tmp_path):
    folder = make_shoot(tmp_path / "shoot", count=3)
    review = open_by_drop(qtbot, window, folder)
    canvas = window.canvas
    before = review.mask.copy()
    window.editor.set_tool("brush")
    canvas.editor.set_brush(radius=25)
    start = canvas.to_screen(100, 100)
    end = canvas.to_screen(500, 300)
    steps = [
        (start.x() + (end.x() - start.x()) * t / 10, start.y() + (end.y() - start.y()) * t / 10)
        for t in range(11)
    ]
    drag(canvas, steps)
    painted = review.mask.copy()
    assert painted[100, 100] == 255 and painted[300, 500] == 255 and painted[20, 600] == 0
    assert len(review.history) == 1
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(review.mask, before)
    qtbot.keyClick(
        canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    np.testing.assert_array_equal(review.mask, painted)
    # Autosaved in the background; open another folder, then this one again.
    assert window.tasks.flush(10)
    other = make_shoot(tmp_path / "other", count=1)
    open_by_drop(qtbot, window, other)
    reopened = open_by_drop(qtbot, window, folder)
    assert reopened.row == 0 and reopened.mask_source == "edited"
    np.testing.assert_array_equal(reopened.mask, painted)
    qtbot.waitUntil(lambda: window.document.images[0].has_edited_mask, timeout=5000)
    # The reopened edit can be painted on (it was a read-only array once) and undone.
    spot = canvas.to_screen(600, 60)
    drag(canvas, [(spot.x(), spot.y()), (spot.x() + 5, spot.y())])
    assert reopened.mask[60, 600] == 255
    window.document.undo()
    np.testing.assert_array_equal(reopened.mask, painted)


def test_a_sam_click_makes_the_mask_sam_predicts(qtbot, window, tmp_path, tiny_registry):
    from engine.segment.session import SamSession, sam_model_key

    folder = make_shoot(tmp_path / "shoot", count=2)
    review = open_by_drop(qtbot, window, folder)
    assert window.mask_panel.tool_buttons["sam"].isEnabled()
    qtbot.waitUntil(lambda: window.sam.embedded_image == review.image_id, timeout=20000)
    # The next image in the browser is embedded ahead of time, into the store's cache.
    expected = SamSession(tiny_registry, precision=window.bridge.engine.precision)  # the engine's
    key = expected.model_key
    assert key.startswith(sam_model_key(tiny_registry))
    second = window.document.image_id(1)
    qtbot.waitUntil(lambda: window.document.store.embeddings.get(second, key) is not None, timeout=20000)
    canvas = window.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_S)
    assert canvas.editor.tool == "sam"
    assert not review.mask.any()
    point = canvas.to_screen(320, 240)
    with qtbot.waitSignal(window.sam.result_applied, timeout=20000):
        click(canvas, (point.x(), point.y()))
    assert review.mask.any()
    x, y = canvas.to_image(point)
    expected.set_image("same", review.rgb)
    np.testing.assert_array_equal(review.mask >= 128, expected.predict_click([[x, y]], [1]).full())
    # which is the library predictor's best mask (tests/engine/segment/test_click.py: IoU > 0.999)
    assert window.prompts.points == [(x, y, True)]
    # One SAM result is one undo step.
    window.document.undo()
    assert not review.mask.any()


def test_pick_reject_unflag_keys_and_the_flag_filter(qtbot, window, tmp_path):
    folder = make_shoot(tmp_path / "shoot", count=4)
    open_by_drop(qtbot, window, folder)
    browser = window.browser
    browser.setFocus()
    qtbot.keyClick(browser, Qt.Key.Key_P)
    qtbot.keyClick(browser, Qt.Key.Key_Right)
    qtbot.keyClick(browser, Qt.Key.Key_X)
    qtbot.keyClick(browser, Qt.Key.Key_Right)
    qtbot.keyClick(browser, Qt.Key.Key_P)
    qtbot.keyClick(browser, Qt.Key.Key_U)
    assert [img.flag for img in window.document.images] == ["pick", "reject", None, None]
    browser.proxy.set_criteria(flag="pick")
    assert browser.proxy.rowCount() == 1
    browser.proxy.set_criteria(flag=None)
    assert browser.proxy.rowCount() == 2
    browser.proxy.set_criteria()
    ids = [img.image_id for img in window.document.images]
    assert window.document.store.flag(ids[1]) == "reject"


def test_missing_sam_weights_disable_the_tool_but_painting_works(qtbot, tmp_path):
    window = MainWindow(models=ModelsConfig.defaults(), thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(window)
    window.show()
    try:
        button = window.mask_panel.tool_buttons["sam"]
        assert not button.isEnabled()
        assert "'sam'" in button.toolTip() and "models download sam" in button.toolTip()
        review = open_by_drop(qtbot, window, make_shoot(tmp_path / "shoot", count=1))
        canvas = window.canvas
        point = canvas.to_screen(300, 200)
        drag(window.canvas, [(point.x(), point.y()), (point.x() + 30, point.y())])
        assert review.mask[200, 300] == 255
        assert window.sam.embedded_image is None
    finally:
        window.shutdown_engine()


def test_an_unreadable_image_says_why_on_the_canvas(qtbot, window, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    (folder / "a_broken.jpg").write_bytes(b"nope")
    Image.new("RGB", (64, 48), (200, 10, 10)).save(folder / "b_fine.jpg")
    drop(window, [folder])
    qtbot.waitUntil(lambda: "Cannot open a_broken.jpg" in window.canvas.busy_message, timeout=10000)
    assert window.document.review is None


def test_only_visible_thumbnails_are_decoded_and_scrolling_loads_the_rest(qtbot, window, tmp_path):
    folder = make_shoot(tmp_path / "big", count=60, size=(96, 64))
    open_by_drop(qtbot, window, folder)
    model, browser = window.thumbnails, window.browser
    visible = browser.visible_rows()
    assert 0 < len(visible) < 30
    qtbot.waitUntil(lambda: model.arrived >= len(visible), timeout=10000)
    qtbot.wait(300)  # nothing else is asked for while the view stands still
    loaded = {r for r in range(60) if model._images.get(window.document.images[r].path) is not None}
    assert set(visible) <= loaded and len(loaded) < 60
    browser.scrollTo(browser.proxy.index(59, 0))  # the end of the grid or of the filmstrip
    qtbot.waitUntil(lambda: 59 in browser.visible_rows(), timeout=5000)
    last = window.document.images[59].path
    qtbot.waitUntil(lambda: model._images.get(last) is not None, timeout=10000)


def test_a_truncated_image_is_badged_and_described_everywhere(qtbot, window, tmp_path):
    """Defect 9: the canvas error was clipped at both edges, the status bar kept the previous image's
    text, and the truncated file's tile was blank with no badge."""
    from gui.browse.thumbnail_browser import ErrorRole

    folder = make_shoot(tmp_path / "shoot", count=2)
    whole = (folder / "shot_001.jpg").read_bytes()
    (folder / "shot_001.jpg").write_bytes(whole[: len(whole) // 3])  # a copy cut short
    window.set_browser_mode("grid")
    open_by_drop(qtbot, window, folder)
    assert "shot_000.jpg" in window.statusBar().currentMessage()
    model = window.thumbnails
    qtbot.waitUntil(lambda: model.data(model.index(1), ErrorRole) is not None, timeout=10000)
    cell = window.browser.visualRect(window.browser.proxy.index(1, 0))
    tile = window.browser.viewport().grab(cell).toImage()
    red = [
        (x, y)
        for x in range(0, tile.width(), 2)
        for y in range(0, tile.height(), 2)
        if tile.pixelColor(x, y).red() > 150 and tile.pixelColor(x, y).green() < 90
    ]
    assert red, "the unreadable tile carries a red badge"
    window.resize(900, 700)  # a narrow canvas: the error must wrap, not run off both edges
    window.browser.select_row(1)
    qtbot.waitUntil(lambda: "Cannot open shot_001.jpg" in window.canvas.busy_message, timeout=10000)
    assert window.statusBar().currentMessage().startswith("shot_001.jpg — cannot open")
    canvas = window.canvas
    box = canvas.message_box(canvas.busy_message, canvas.fontMetrics())
    assert canvas.fontMetrics().horizontalAdvance(canvas.busy_message) > canvas.width()  # it had to wrap
    assert canvas.rect().contains(box), (box, canvas.rect())


def test_the_browser_marks_the_images_whose_sam_embedding_is_ready(qtbot, window, tmp_path):
    from gui.browse.badges import SAM_READY_COLOUR, sam_ready_dot

    folder = make_shoot(tmp_path / "shoot", count=3)
    window.set_browser_mode("grid")
    review = open_by_drop(qtbot, window, folder)
    ids = [window.document.image_id(row) for row in range(3)]
    qtbot.waitUntil(lambda: window.sam.embedded_image == review.image_id, timeout=20000)
    qtbot.waitUntil(lambda: set(ids) <= window.sam.ready_images, timeout=30000)  # embedded ahead too

    browser = window.browser
    shot = browser.viewport().grab().toImage()
    for row in range(3):
        cell = browser.visualRect(browser.proxy.index(row, 0)).adjusted(3, 3, -3, -3)
        picture = cell.adjusted(6, 6, -6, -28)  # the delegate's picture area
        dot = sam_ready_dot(picture).center()
        assert shot.pixelColor(dot).name() == SAM_READY_COLOUR.name(), row
    for image in window.document.images:
        image.verdict = "skipped"  # the verdict chip (bottom left) leaves the dot visible
    browser.viewport().repaint()
    shot = browser.viewport().grab().toImage()
    picture = browser.visualRect(browser.proxy.index(0, 0)).adjusted(9, 9, -9, -31)
    assert shot.pixelColor(sam_ready_dot(picture).center()).name() == SAM_READY_COLOUR.name()
    chip_start = QPoint(picture.x() + 8, picture.bottom() - 12)  # the chip's first letter: not covered
    assert shot.pixelColor(chip_start).name() != SAM_READY_COLOUR.name()
    window.sam.ready_images.clear()  # a folder change forgets them; an unmarked tile has no dot
    browser.viewport().repaint()
    shot = browser.viewport().grab().toImage()
    cell = browser.visualRect(browser.proxy.index(0, 0)).adjusted(3, 3, -3, -3)
    assert shot.pixelColor(sam_ready_dot(cell.adjusted(6, 6, -6, -28)).center()) != SAM_READY_COLOUR
