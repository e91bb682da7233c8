"""The UI thread keeps ticking while the engine computes a SAM image embedding for the review desk.

Uses a mid-size random-weight SAM (256 wide, 6 blocks, 512 px input: ~0.5 s per embedding here) so the
embedding takes long enough to see a stall if the UI thread were waiting on it."""

from __future__ import annotations

import itertools
import time

import numpy as np
import tomli_w
import torch
from PIL import Image
from PySide6.QtCore import QTimer

from engine.models.config import ModelsConfig
from engine.models.sam import SamSpec, build_sam
from gui.main_window import MainWindow
from tests.gui_fixtures import drop

MID_SAM = SamSpec(
    encoder_embed_dim=256,
    encoder_depth=6,
    encoder_num_heads=4,
    encoder_global_attn_indexes=(2, 5),
    image_size=512,
    window_size=8,
)


def mid_sam_models(folder):
    folder.mkdir()
    torch.manual_seed(0)
    torch.save(build_sam(MID_SAM).state_dict(), folder / "sam_mid.pth")
    entry = {"path": "sam_mid.pth", "variant": "custom", **MID_SAM.to_options()}
    (folder / "models.toml").write_text(tomli_w.dumps({"sam": entry}))
    return ModelsConfig.load(folder / "models.toml")


def test_ui_stays_responsive_while_the_engine_embeds_the_image(qtbot, tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8)).save(shoot / "a.jpg")
    window = MainWindow(models=mid_sam_models(tmp_path / "models"), thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(window)
    window.show()
    # When the embedding itself starts on the engine thread (not when it was queued behind loading SAM).
    embed_times: dict[int, float] = {}
    make_embed_job = window.sam.sam.embed_job

    def watched_embed_job(*args):
        job = make_embed_job(*args)

        def on_progress(progress):
            if progress.message == "computing the image embedding":
                embed_times.setdefault(job.id, time.monotonic())

        job.add_progress_callback(on_progress)
        return job

    window.sam.sam.embed_job = watched_embed_job
    finished: dict[int, float] = {}
    window.bridge.job_finished.connect(
        lambda job: finished.setdefault(job.id, time.monotonic()) if job.id in embed_times else None
    )
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    try:
        timer.start()
        drop(window, [shoot])
        qtbot.waitUntil(lambda: window.sam.embedded_image is not None, timeout=60000)
        timer.stop()
        assert "SAM" not in window.canvas.busy_message
        (job_id,) = embed_times
        start, end = embed_times[job_id], finished[job_id]
        during = [t for t in ticks if start <= t <= end]
        gaps = [b - a for a, b in itertools.pairwise(during)]
        worst_ms = max(gaps) * 1000
        print(
            f"\nSAM embedding took {end - start:.2f} s on the engine thread; "
            f"the UI ticked {len(during)} times, worst gap {worst_ms:.0f} ms"
        )
        assert end - start > 0.2  # long enough that a blocked UI would show
        assert len(during) > (end - start) / 0.005 * 0.3
        assert worst_ms < 500
    finally:
        window.shutdown_engine()
