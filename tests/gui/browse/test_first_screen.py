"""On a first open the visible thumbnails come first: indexing (content hashes), loading SAM and the
canvas's full decode start only once every cell on screen shows its thumbnail."""

from __future__ import annotations

import gui.folder_opening as folder_opening
import gui.main_window as main_window
from tests.fixtures.gui import drop, make_shoot


def test_hashing_and_decoding_wait_for_the_visible_thumbnails(qtbot, window, tmp_path, monkeypatch):
    folder = make_shoot(tmp_path / "shoot", count=12)
    started: list[tuple[str, bool, bool]] = []  # (what, first screen painted?, visible cells all shown?)

    def visible_shown() -> bool:
        rows = window.browser.visible_rows()
        images = window.document.images
        return bool(rows) and all(window.thumbnails.has_arrived(images[r].path) for r in rows)

    def spy(name, real):
        def wrapper(*args, **kwargs):
            started.append((name, window.first_screen.is_painted, visible_shown()))
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(folder_opening, "index_shots", spy("index", folder_opening.index_shots))
    monkeypatch.setattr(main_window, "load_review", spy("decode", main_window.load_review))
    engine = window.bridge.engine
    monkeypatch.setattr(engine, "load_sam", spy("sam", engine.load_sam))
    window.set_browser_mode("grid")
    with qtbot.waitSignal(window.first_screen.painted, timeout=10000):
        drop(window, [folder])
        assert not window.first_screen.is_painted  # a first open: the screen is not painted yet
    assert visible_shown()
    qtbot.waitUntil(lambda: all(image.image_id for image in window.document.images), timeout=10000)
    qtbot.waitUntil(lambda: window.document.review is not None, timeout=10000)
    qtbot.waitUntil(lambda: "sam" in {name for name, _, _ in started}, timeout=10000)
    assert {name for name, _, _ in started} == {"index", "decode", "sam"}
    assert all(painted and shown for _, painted, shown in started), started


def test_work_runs_at_once_when_the_screen_is_painted_or_nothing_is_shown(qtbot, window, tmp_path):
    gate = window.first_screen
    ran = []
    gate.after("x", lambda: ran.append("no folder"))  # nothing open: nothing to wait for
    assert ran == ["no folder"]
    empty = tmp_path / "empty"
    empty.mkdir()
    window.open_folder(empty)
    qtbot.waitUntil(lambda: gate.is_painted, timeout=5000)  # no cells to wait for
    gate.after("x", lambda: ran.append("empty folder"))
    assert ran == ["no folder", "empty folder"]
