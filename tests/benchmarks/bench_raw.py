"""Browsing a RAW shoot from the embedded previews, against rawpy's full `postprocess`, in the same run:
per-thumbnail cost, all thumbnails, the real window's first screen, and flipping at 100% once cached.

    flock /tmp/shootstudio-heavy.lock /work/main/.venv/bin/python tests/benchmarks/bench_raw.py
    BENCH_RAW_ONLY=gui ...   # only the real window's first screen, BENCH_RAW_RUNS times (default 3)
    BENCH_RAW_ONLY=canvas ...  # only the canvas: embedded preview shown first, first view, cached view

The folder (BENCH_RAW_DIR, default /tmp/shootstudio-bench-raw) holds 2,000 RAW files: two real 24 MP
DNGs (6000×4000 12-bit RGGB, written with tifffile) hard-linked under 2,000 names, so the disk holds
~100 MB, while every name is its own thumbnail and decode cache entry. One DNG embeds a 1616×1080 JPEG
preview (Sony/Fuji-like: the canvas needs the full decode), the other a full-size 6000×4000 preview
(Canon/Nikon-like). Files are read from the OS page cache (hard links share it): a card reader adds
its own read time to every variant alike.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from PIL import Image

COUNT = int(os.environ.get("BENCH_RAW_COUNT", "2000"))
SAMPLE = min(100, COUNT // 2 - 4)  # thumbnails timed one by one (each its own file and cache entry)
FLIPS = 4  # images flipped through at 100%, per kind
SIZE = (6000, 4000)
FOLDER = Path(os.environ.get("BENCH_RAW_DIR", "/tmp/shootstudio-bench-raw"))
CANVAS_HEADER = f"{'canvas at 100% (decode + masks + pyramids)':<46}{'first view':>28}{'once cached':>28}"
KINDS = {"small": (1616, 1080), "full": SIZE}  # embedded preview sizes


def _scene(seed: int) -> tuple[np.ndarray, Image.Image]:
    """A photo-like scene: smooth backdrop, a textured product, grain; as 12-bit RGGB and as a JPEG."""
    import cv2

    rng = np.random.default_rng(seed)
    backdrop = cv2.resize(
        rng.integers(150, 245, (8, 12, 3), dtype=np.uint8), SIZE, interpolation=cv2.INTER_CUBIC
    )
    backdrop[1000:3000, 1500:4500] = cv2.resize(
        rng.integers(0, 140, (300, 400, 3), dtype=np.uint8), (3000, 2000)
    )
    rgb = cv2.add(backdrop, rng.integers(0, 12, (SIZE[1], SIZE[0], 3), dtype=np.uint8))
    cfa = np.empty((SIZE[1], SIZE[0]), np.uint16)
    cfa[0::2, 0::2] = rgb[0::2, 0::2, 0]
    cfa[0::2, 1::2] = rgb[0::2, 1::2, 1]
    cfa[1::2, 0::2] = rgb[1::2, 0::2, 1]
    cfa[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return cfa * 16, Image.fromarray(rgb)


def ensure_folder() -> dict[str, list[Path]]:
    from tests.fixtures.raw import write_dng

    FOLDER.mkdir(parents=True, exist_ok=True)
    masters = {}
    for kind, preview in KINDS.items():
        master = FOLDER / f".master-{kind}.dng"
        if not master.exists():
            cfa, picture = _scene(len(kind))
            write_dng(master.with_suffix(".tmp"), SIZE, preview, cfa=cfa, preview_image=picture)
            master.with_suffix(".tmp").rename(master)
        masters[kind] = master
    paths: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    for i in range(COUNT):
        kind = "small" if i % 2 == 0 else "full"
        path = FOLDER / f"IMG_{i:04d}.dng"
        if not path.exists():
            os.link(masters[kind], path)
        paths[kind].append(path)
    size = sum(m.stat().st_size for m in masters.values()) / 1e6
    print(f"folder: {FOLDER} ({COUNT} DNGs of {SIZE[0]}×{SIZE[1]}, two masters of {size:.0f} MB together)")
    return paths


def time_postprocess(path: Path, runs: int = 3) -> float:
    import rawpy

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with rawpy.imread(str(path)) as raw:
            raw.postprocess(use_camera_wb=True, output_bps=8)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_thumbnails(paths: list[Path], cache_dir: Path) -> tuple[list[float], list[float]]:
    """Per thumbnail, one at a time: from the RAW (empty cache), then from the thumbnail cache."""
    from engine.api import ThumbnailCache

    cache = ThumbnailCache(cache_dir)
    cold, warm = [], []
    for timings in (cold, warm):
        for path in paths:
            started = time.perf_counter()
            thumb = cache.load(path)
            timings.append(time.perf_counter() - started)
            assert thumb.rgb is not None, thumb.error
    return cold, warm


def time_all(paths: list[Path], cache_dir: Path) -> float:
    """Every thumbnail of the folder with 2 threads (the browser's workers), empty cache."""
    from engine.api import ThumbnailCache

    cache = ThumbnailCache(cache_dir)
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(cache.load, paths))
    return time.perf_counter() - started


def time_gui(cache_dir: Path) -> tuple[float, int, float]:
    """The real window: open the folder, wait until every visible cell shows its thumbnail (indexing
    hashes the folder meanwhile, as it does); the worst gap of a 5 ms UI timer."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from engine.models.config import ModelsConfig
    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(models=ModelsConfig.defaults(), thumbnail_cache=cache_dir)
    window.resize(1400, 900)
    window.set_browser_mode("grid")  # the grid shows the most cells at once (the filmstrip fewer)
    window.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))

    def visible_filled() -> bool:
        model = window.thumbnails
        rows = window.browser.visible_rows()
        return len(rows) > 0 and all(model._images.get(window.document.images[r].path) for r in rows)

    timer.start()
    started = time.perf_counter()
    window.open_folder(FOLDER)
    while not visible_filled() and time.perf_counter() - started < 600:
        app.processEvents()
        time.sleep(0.001)
    first = time.perf_counter() - started
    visible = len(window.browser.visible_rows())
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    window.shutdown_engine()
    window.close()
    return first, visible, max(gaps) * 1000


def time_flips(paths: list[Path], store) -> tuple[list[float], list[float]]:
    """Opening an image on the canvas (decode + masks + pyramids, what an arrow key does) for the first
    time, then again once its working image is cached."""
    from engine.project.document import load_review
    from gui.review.canvas_content import prepare_content

    ids = [store.register(path) for path in paths]  # indexing did this before any flip
    cold, warm = [], []
    for timings in (cold, warm):
        for row, (path, image_id) in enumerate(zip(paths, ids, strict=True)):
            started = time.perf_counter()
            prepare_content(load_review(store, row, path, image_id))
            timings.append(time.perf_counter() - started)
    return cold, warm


def time_canvas_previews(paths: list[Path], store) -> list[float]:
    """What the canvas shows at once on a first view: the embedded preview at screen size, pyramids
    built (gui/review/canvas_preview.py), before the working image is made."""
    from gui.review.canvas_preview import CanvasPreview

    timings = []
    for path in paths:
        started = time.perf_counter()
        preview = CanvasPreview.load(path, store.raw_cache)
        timings.append(time.perf_counter() - started)
        assert preview is not None
    return timings


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.mean(values) * 1000:8.1f} ms (p95 {p95 * 1000:6.1f})"


def first_screens(runs: int) -> None:
    """Only the real window's first screen: each run a first open (no store, empty thumbnail cache) and
    a re-open from the thumbnail cache, with indexing and the canvas's decode held until the first
    screen is painted (gui/browse/first_screen.py), and as before, started at once: alternated, so a
    busy machine weighs on both alike."""
    from gui.browse.first_screen import FirstScreen

    deferred = FirstScreen.after
    work = Path(tempfile.mkdtemp(prefix="bench-raw-"))
    results: dict[str, list[float]] = {"at once (before)": [], "after the first screen": []}
    try:
        for run in range(runs):
            for variant, after in zip(results, (lambda self, key, fn: fn(), deferred), strict=True):
                FirstScreen.after = after
                shutil.rmtree(FOLDER / ".shootstudio", ignore_errors=True)
                cache = work / f"gui-{run}-{variant}"  # each first open starts from an empty cache
                first, visible, stall = time_gui(cache)
                warm, _, _ = time_gui(cache)
                results[variant].append(first)
                print(
                    f"{variant:<24} first screen ({visible} cells): first open {first:.2f} s, "
                    f"thumbnail cache {warm:.2f} s; worst UI stall {stall:.0f} ms"
                )
    finally:
        FirstScreen.after = deferred
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(FOLDER / ".shootstudio", ignore_errors=True)
    before, after = (statistics.median(v) for v in results.values())
    print(f"first open, median of {runs}: {before:.2f} s before, {after:.2f} s now ({before / after:.1f}×)")


def canvas_section(paths: dict[str, list[Path]], store) -> None:
    for kind, label in (("small", "1616×1080 preview → full decode"), ("full", "full-size preview")):
        chosen = paths[kind][SAMPLE : SAMPLE + FLIPS]
        shown = time_canvas_previews(chosen, store)
        cold, warm = time_flips(chosen, store)
        print(f"{label:<46}{_ms(cold):>28}{_ms(warm):>28}")
        print(f"{'  its embedded preview, shown first':<46}{_ms(shown):>28}")


def main() -> None:
    from engine.project.store import ProjectStore

    paths = ensure_folder()
    if os.environ.get("BENCH_RAW_ONLY") == "gui":
        first_screens(int(os.environ.get("BENCH_RAW_RUNS", "3")))
        return
    if os.environ.get("BENCH_RAW_ONLY") == "canvas":
        shutil.rmtree(FOLDER / ".shootstudio", ignore_errors=True)
        try:
            with ProjectStore.open(FOLDER) as store:
                print(CANVAS_HEADER)
                canvas_section(paths, store)
        finally:
            shutil.rmtree(FOLDER / ".shootstudio", ignore_errors=True)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-raw-"))
    shutil.rmtree(FOLDER / ".shootstudio", ignore_errors=True)
    try:
        full = time_postprocess(paths["small"][0])
        print(f"\nbaseline: rawpy postprocess (full decode, camera WB, 8 bits) {full:.2f} s per image\n")
        print(f"{'per thumbnail (one at a time)':<46}{'time':>28}{'vs full decode':>18}")
        sample = paths["small"][:SAMPLE] + paths["full"][:SAMPLE]
        cold, warm = time_thumbnails(sample, work / "thumbs-sample")
        small_cold = cold[:SAMPLE]
        full_cold = cold[SAMPLE:]
        for name, values in (
            ("embedded 1616×1080 preview (draft JPEG)", small_cold),
            ("embedded 6000×4000 preview (draft JPEG)", full_cold),
            ("from the thumbnail cache", warm),
        ):
            print(f"{name:<46}{_ms(values):>28}{full / statistics.mean(values):>14.0f}× less")
        every = [p for pair in zip(paths["small"], paths["full"], strict=False) for p in pair]
        total = time_all(every, work / "thumbs-all")
        print(
            f"\nall {len(every)} thumbnails, 2 threads, empty cache: {total:.1f} s "
            f"(full decodes would take ~{full * len(every) / 2 / 60:.0f} min on 2 threads: "
            f"{full * len(every) / 2 / total:.0f}×)"
        )
        first, visible, stall = time_gui(work / "gui")
        first_warm, _, stall_warm = time_gui(work / "gui")
        print(
            f"real window 1400×900, first screen ({visible} cells): empty cache {first:.2f} s, "
            f"thumbnail cache {first_warm:.2f} s; worst UI stall {max(stall, stall_warm):.0f} ms"
        )
        with ProjectStore.open(FOLDER) as store:
            print("\n" + CANVAS_HEADER)
            canvas_section(paths, store)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(FOLDER / ".shootstudio", ignore_errors=True)


if __name__ == "__main__":
    main()
