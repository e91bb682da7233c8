"""Start-up and close (defect 12): the window is built and painted without the model libraries (nor
huggingface_hub, whose import alone held the first paint ~0.5 s); closing cancels the running job and lets
the mask writes land. Times are measured in tests/benchmarks/bench_startup.py, not asserted here."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from engine.api import Cancelled, Job
from tests.fixtures.gui import make_shoot

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from gui.app import create_application
from gui.main_window import MainWindow
app = create_application()
window = MainWindow()
window.show()
for _ in range(20):
    app.processEvents()
print(sorted(m for m in ("torch", "diffusers", "huggingface_hub", "open_clip") if m in sys.modules))
window.close()
window.shutdown_engine()
"""


def test_the_window_paints_without_model_libraries_or_huggingface_hub(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    env.update({f"XDG_{k}_HOME": str(tmp_path / k) for k in ("CONFIG", "DATA", "CACHE")})
    run = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_closing_cancels_the_running_job_and_lands_the_mask_write(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        window.open_folder(make_shoot(tmp_path / "shoot", 2))
    review = window.document.review
    painted = review.mask.copy()
    painted[10:60, 10:60] = 255
    assert window.document.replace_mask(painted, "paint") is not None  # an edit: its autosave is queued

    def long_job(ctx):
        while True:  # a model step that only ends when cancelled
            ctx.check_cancelled()
            time.sleep(0.01)

    job = window.bridge.submit(Job(long_job, name="long"))
    qtbot.waitUntil(lambda: window.bridge.busy, timeout=5000)
    window.close()
    assert job.wait(5) and isinstance(job.outcome, Cancelled)
    store, image_id = window.document.store, review.image_id
    assert store.edited_mask(image_id) is not None and store.edited_mask(image_id)[30, 30] > 0
