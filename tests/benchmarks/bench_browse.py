"""Browsing a big shoot: time to the first visible thumbnails and to all thumbnails, for a generated folder
of 300 JPEGs of 6000×4000, against a naive full decode + resize, in the same run.

    flock /tmp/shootstudio-heavy.lock /tmp/probe-venv/bin/python tests/benchmarks/bench_browse.py

The folder is generated once under /tmp (BENCH_BROWSE_DIR to change it; ~1 GB) and reused.
Every variant uses 2 decoding threads, as the app does.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from PIL import Image

COUNT = 300
SIZE = (6000, 4000)
FIRST_SCREEN = 24  # thumbnails visible at once in a 1400×900 window
FOLDER = Path(os.environ.get("BENCH_BROWSE_DIR", "/tmp/shootstudio-bench-browse-300"))


def _make_one(index: int) -> None:
    import cv2

    path = FOLDER / f"IMG_{index:04d}.jpg"
    if path.exists() and path.stat().st_size > 100_000:
        return
    rng = np.random.default_rng(index)
    # A smooth backdrop, a textured "product", and fine grain, so the JPEG is photo-like (~3-5 MB).
    backdrop = cv2.resize(
        rng.integers(150, 245, (8, 12, 3), dtype=np.uint8), SIZE, interpolation=cv2.INTER_CUBIC
    )
    texture = cv2.resize(rng.integers(0, 140, (300, 400, 3), dtype=np.uint8), (3000, 2000))
    backdrop[1000:3000, 1500 + index % 500 : 4500 + index % 500] = texture
    grain = rng.integers(0, 12, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    Image.fromarray(cv2.add(backdrop, grain)).save(path, quality=90)


def ensure_folder() -> list[Path]:
    FOLDER.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_make_one, range(COUNT)))
    paths = sorted(FOLDER.glob("IMG_*.jpg"))[:COUNT]
    took = time.perf_counter() - started
    size = sum(p.stat().st_size for p in paths) / 1e9
    print(
        f"folder: {FOLDER} ({len(paths)} JPEGs of {SIZE[0]}×{SIZE[1]}, {size:.2f} GB; ready in {took:.0f} s)"
    )
    return paths


def naive_thumbnail(path: Path) -> Image.Image:
    with Image.open(path) as image:
        rgb = image.convert("RGB")  # decodes all 24 MP
    rgb.thumbnail((256, 256), Image.Resampling.BILINEAR)
    return rgb


def time_naive(paths: list[Path]) -> tuple[float, float]:
    started = time.perf_counter()
    first = 0.0
    with ThreadPoolExecutor(2) as pool:
        for i, _ in enumerate(pool.map(naive_thumbnail, paths), 1):
            if i == FIRST_SCREEN:
                first = time.perf_counter() - started
    return first, time.perf_counter() - started


def time_loader(paths: list[Path], cache_dir: Path) -> tuple[float, float, int]:
    """Through the browser's background tasks (2 threads, newest first): the first screen is requested
    last, as scrolling does."""
    from PySide6.QtWidgets import QApplication

    from engine.api import ThumbnailCache
    from gui.background import BackgroundTasks

    app = QApplication.instance() or QApplication([])
    cache = ThumbnailCache(cache_dir)
    tasks = BackgroundTasks(workers=2, newest_first=True)
    first_screen = set(paths[:FIRST_SCREEN])
    state = {"first": 0, "all": 0, "cached": 0}

    def ready(thumb) -> None:
        state["all"] += 1
        state["cached"] += thumb.from_cache
        state["first"] += thumb.path in first_screen

    started = time.perf_counter()
    for path in reversed(paths):
        tasks.run(path, lambda path=path: cache.load(path), ready)
    while state["first"] < FIRST_SCREEN:
        app.processEvents()
        time.sleep(0.0005)
    first = time.perf_counter() - started
    while state["all"] < len(paths):
        app.processEvents()
        time.sleep(0.0005)
    total = time.perf_counter() - started
    tasks.close()
    return first, total, state["cached"]


def time_gui(cache_dir: Path) -> tuple[float, float, int, float]:
    """The real window: open the folder, wait until every visible cell shows its thumbnail; the worst
    gap of a 5 ms UI timer meanwhile; then the same after scrolling to the end of the folder."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from engine.models.config import ModelsConfig
    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(models=ModelsConfig.defaults(), thumbnail_cache=cache_dir)
    window.resize(1400, 900)
    window.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))

    def visible_filled() -> bool:
        model = window.thumbnails
        rows = window.browser.visible_rows()
        return len(rows) > 0 and all(model._images.get(window.document.images[r].path) for r in rows)

    def wait(predicate, timeout=600.0) -> None:
        end = time.perf_counter() + timeout
        while not predicate() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)

    timer.start()
    started = time.perf_counter()
    window.open_folder(FOLDER)
    wait(visible_filled)
    first = time.perf_counter() - started
    visible = len(window.browser.visible_rows())
    window.browser.scrollToBottom()
    scrolled = time.perf_counter()
    app.processEvents()
    wait(visible_filled)
    after_scroll = time.perf_counter() - scrolled
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    window.shutdown_engine()
    window.close()
    return first, after_scroll, visible, max(gaps) * 1000


def main() -> None:
    paths = ensure_folder()
    work = Path(tempfile.mkdtemp(prefix="bench-browse-"))
    try:
        rows = []
        naive_first, naive_all = time_naive(paths)
        rows.append(("naive: full decode + resize", naive_first, naive_all, ""))
        cold_first, cold_all, _ = time_loader(paths, work / "cold")
        rows.append(("background tasks, empty cache (JPEG draft)", cold_first, cold_all, ""))
        warm_first, warm_all, cached = time_loader(paths, work / "cold")
        rows.append(("background tasks, disk cache", warm_first, warm_all, f"{cached} from cache"))
        print(
            f"\n{'':<44}{'first ' + str(FIRST_SCREEN) + ' (s)':>14}{'all ' + str(COUNT) + ' (s)':>12}"
            f"{'vs naive':>12}"
        )
        for name, first, total, note in rows:
            print(f"{name:<44}{first:>14.2f}{total:>12.2f}{naive_all / total:>11.1f}×  {note}")
        gui_cold = time_gui(work / "gui")
        gui_warm = time_gui(work / "gui")
        print("\nthe real window (1400×900), until every visible cell shows its thumbnail:")
        for label, (first, scroll, visible, worst) in (("empty cache", gui_cold), ("disk cache", gui_warm)):
            print(
                f"  {label:<12} first screen ({visible} cells) {first:5.2f} s; after scrolling to the end "
                f"{scroll:5.2f} s; worst UI stall {worst:4.0f} ms"
            )
        print(f"  (naive decoding, 2 threads: ~{naive_all / COUNT * visible:.1f} s per screen)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
