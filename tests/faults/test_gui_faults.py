"""The review desk under faults: the store's disk fills while painting (the edit stays in memory, a banner
says so, and the mask is saved by itself once there is room again); the app is killed after painting (the
autosaved mask comes back on reopening)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from engine.project import mask_records as store_module  # where the store writes mask files
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


# The app in its own process: open the shoot, paint one stroke, wait for the autosave, save what is on
# screen for the test to compare, then die by SIGKILL (no close, no flush: a crash).
CRASH_AFTER_PAINTING = """
import os, signal, sys, time
from pathlib import Path
import numpy as np
from PySide6.QtWidgets import QApplication
from engine.api import Engine, load_models
from gui.main_window import MainWindow
from tests.fixtures.gui import drag

app = QApplication([])
window = MainWindow(Engine(load_models(sys.argv[1])), thumbnail_cache=sys.argv[3])
window.resize(1200, 800)
window.show()
window.open_folder(Path(sys.argv[2]))
deadline = time.monotonic() + 120
while window.document.review is None and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
window.editor.set_tool("brush")
window.canvas.editor.set_brush(radius=25)
a, b = window.canvas.to_screen(100, 100), window.canvas.to_screen(300, 200)
drag(window.canvas, [(a.x(), a.y()), (b.x(), b.y())])
window.tasks.flush(30)
np.save(sys.argv[4], window.document.review.mask)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_crash_after_painting_restores_the_autosaved_mask(qtbot, window, tiny_models, tmp_path):
    root = Path(__file__).resolve().parents[2]
    folder = make_shoot(tmp_path / "shoot", count=1)
    painted_file = tmp_path / "painted.npy"
    args = [str(tiny_models), str(folder), str(tmp_path / "thumbs-crashed"), str(painted_file)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_PAINTING, *args],
        cwd=root,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert process.returncode == -9, process.stderr[-2000:]
    painted = np.load(painted_file)
    assert painted.max() == 255  # the stroke was there when the app died
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    review = window.document.review
    assert review.mask_source == "edited"
    np.testing.assert_array_equal(review.mask, painted)


def test_a_model_that_cannot_load_stops_the_panel_job_with_its_message_and_the_app_goes_on(
    qtbot, tiny_models, tmp_path
):
    from engine.api import Engine
    from engine.filter.run import FilterSettings
    from engine.models.config import ModelsConfig
    from engine.models.registry import ModelRegistry
    from engine.runtime.jobs import Failed
    from engine.segment.session import ProposalSettings
    from gui.main_window import MainWindow
    from tests.faults.helpers import models_file

    clip = tmp_path / "clip.safetensors"
    data = (tiny_models.parent / "clip" / "open_clip_model.safetensors").read_bytes()
    clip.write_bytes(data[: len(data) // 2])  # truncated
    models = models_file(tiny_models, tmp_path / "models", clip={"path": str(clip)})
    window = MainWindow(
        Engine(registry=ModelRegistry(ModelsConfig.load(models), "cpu")), thumbnail_cache=tmp_path / "t"
    )
    qtbot.addWidget(window)
    try:
        window.show()
        folder = make_shoot(tmp_path / "shoot", count=2)
        with qtbot.waitSignal(window.review_shown, timeout=10000):
            drop(window, [folder])
        panel = window.filter_panel
        qtbot.waitUntil(lambda: panel.class_set is not None, timeout=10000)
        proposals = ProposalSettings(points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0)
        panel.filter_settings = FilterSettings(proposals=proposals)
        job = panel.run()
        qtbot.waitUntil(lambda: job.done, timeout=120000)
        assert isinstance(job.outcome, Failed) and job.outcome.exit_code == 3
        qtbot.waitUntil(lambda: "could not be loaded" in panel.problem_label.text(), timeout=10000)
        assert "'clip'" in panel.problem_label.text() and "\n" not in panel.problem_label.text()
        # The app goes on: the next image opens and can be painted.
        with qtbot.waitSignal(window.review_shown, timeout=10000):
            window.step(1)
        review = window.document.review
        window.editor.set_tool("brush")
        point = window.canvas.to_screen(50, 50)
        drag(window.canvas, [(point.x(), point.y()), (point.x() + 10, point.y())])
        assert review.mask[50, 50] == 255
        assert window.tasks.flush(10)
    finally:
        window.shutdown_engine()
