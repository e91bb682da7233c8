"""SAM on the review desk: the image under review is embedded on the engine thread while the UI thread
keeps running (clicks, prefetch and undo: tests/gui/test_review_desk.py)."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
from PIL import Image
from PySide6.QtCore import QTimer

from engine.segment import session as sam_session
from tests.fixtures.gui import drop

TICKS_WHILE_HELD = 10


def test_the_ui_keeps_ticking_while_the_engine_embeds_the_image(qtbot, window, tmp_path, monkeypatch):
    """The embedding job holds the engine thread until the UI has ticked 10 more times: the test can
    only pass if the UI thread runs while the job does, whatever the job's length on this machine."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8)).save(shoot / "a.jpg")
    ticks: list[float] = []
    held: dict[str, object] = {}
    real_compute = sam_session.SamSession._compute

    def compute_and_hold(self, rgb):
        features = real_compute(self, rgb)  # the real embedding, on the engine thread
        start = len(ticks)
        held["thread"] = threading.current_thread().name
        deadline = time.monotonic() + 30
        while len(ticks) < start + TICKS_WHILE_HELD and time.monotonic() < deadline:
            time.sleep(0.002)
        held["ticks"] = len(ticks) - start
        return features

    monkeypatch.setattr(sam_session.SamSession, "_compute", compute_and_hold)
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    try:
        drop(window, [shoot])
        qtbot.waitUntil(lambda: window.sam.embedded_image is not None, timeout=60000)
    finally:
        timer.stop()
    assert held["thread"] == "shootstudio-engine"  # computed on the engine thread, not the UI's
    assert held["ticks"] >= TICKS_WHILE_HELD, "the UI thread did not run while the engine embedded"
    assert "SAM" not in window.canvas.busy_message
    worst = max(b - a for a, b in itertools.pairwise(ticks))
    print(f"\nUI ticked {len(ticks)} times around the embedding; worst gap {worst * 1000:.0f} ms")


def test_embed_ahead_follows_the_browsers_sort_and_filter(qtbot, window, tmp_path, monkeypatch):
    """The images sent to embed ahead are in the browser's order (here: by rating), from the image under
    review on; an image the browser's filter hides is embedded first, then the shown ones in order."""
    from tests.fixtures.gui import make_shoot

    folder = make_shoot(tmp_path / "shoot", count=4, size=(160, 120))
    engine = window.bridge.engine
    plans: list[tuple[list[str], int]] = []
    real_embed_ahead = engine.embed_ahead

    def recording(folder, items, start=0, on_ready=None):
        plans.append(([path.name for _id, path in items], start))
        return real_embed_ahead(folder, items, start, on_ready)

    monkeypatch.setattr(engine, "embed_ahead", recording)
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    document, bar = window.document, window.cull_bar
    document.set_rating([1], 5)
    document.set_rating([3], 4)
    document.set_rating([2], 2)
    bar.sort_combo.setCurrentIndex(bar.sort_combo.findData("rating"))  # shown: rows 1, 3, 2, 0
    plans.clear()
    window.browser.select_row(2)
    names = [f"shot_{i:03d}.jpg" for i in range(4)]
    # (the first image's embedding may still finish and plan from it: wait for the plan from row 2)
    qtbot.waitUntil(lambda: any(items[start] == names[2] for items, start in plans), timeout=20000)
    assert plans[-1] == ([names[1], names[3], names[2], names[0]], 2)  # from row 2 on, in the shown order

    bar.rating_combo.setCurrentIndex(bar.rating_combo.findData(4))  # shown: rows 1, 3; row 2 is hidden
    window.sam._prefetch(2)  # (as after its embedding: the image under review is now a hidden one)
    assert plans[-1] == ([names[2], names[1], names[3]], 0)
