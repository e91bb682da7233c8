"""The review desk under faults: the store's disk fills while painting (the edit stays in memory, a banner
says so, and the mask is saved by itself once there is room again)."""

from __future__ import annotations

import errno

import numpy as np

from engine.project import store as store_module
from tests.fixtures.gui import drag, drop, make_shoot


def test_disk_full_while_painting_keeps_the_edit_and_saves_it_when_space_returns(
    qtbot, window, tmp_path, monkeypatch
):
    import gui.main_window

    window._save_retry.setInterval(50)  # no 5 s wait in a test
    folder = make_shoot(tmp_path / "shoot", count=1)
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    review = window.document.review
    real_save = store_module.atomic_save
    full = {"on": True}

    def atomic_save(path, save):
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(path, save)

    monkeypatch.setattr(store_module, "atomic_save", atomic_save)
    window.editor.set_tool("brush")
    window.canvas.editor.set_brush(radius=25)
    start, end = window.canvas.to_screen(100, 100), window.canvas.to_screen(300, 200)
    drag(window.canvas, [(start.x(), start.y()), ((start.x() + end.x()) / 2, start.y()), (end.x(), end.y())])
    painted = review.mask.copy()
    assert painted[100, 100] == 255
    qtbot.waitUntil(lambda: "Could not save the mask" in window.statusBar().currentMessage(), timeout=10000)
    banner = window.statusBar().currentMessage()
    assert "disk full" in banner and "kept in memory" in banner and ".tmp" not in banner
    np.testing.assert_array_equal(review.mask, painted)  # the edit is still there
    store = window.document.store
    assert store.edited_mask_values(review.image_id) is None

    full["on"] = False  # space comes back: saved without another stroke
    qtbot.waitUntil(lambda: store.edited_mask_values(review.image_id) is not None, timeout=10000)
    np.testing.assert_array_equal(store.edited_mask_values(review.image_id), painted)
    qtbot.waitUntil(lambda: "mask saved" in window.statusBar().currentMessage(), timeout=5000)
    assert gui.main_window.SAVE_RETRY_MS >= 1000  # the real retry is not a busy loop
