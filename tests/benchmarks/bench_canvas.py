"""Canvas frame time while painting on a 24 MP image, and memory per undo step.

    flock /tmp/shootstudio-heavy.lock /tmp/probe-venv/bin/python tests/benchmarks/bench_canvas.py

A frame = one mouse move of a brush stroke handled by the real MaskCanvas (document stroke, lazy pyramid
update, screen-sized repaint via `repaint()`, offscreen). Baseline in the same run: what a naive canvas
does per move, converting the full-resolution mask to a colour overlay and drawing it scaled.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from engine.project import mask_ops
from engine.project.document import ReviewImage, ShootDocument
from engine.project.editor import EditorState
from engine.segment.prompts import PromptSession
from gui.review.canvas_content import prepare_content
from gui.review.mask_canvas import MaskCanvas
from tests.fixtures.gui import mouse

WIDTH, HEIGHT = 6000, 4000
VIEW = (1400, 900)
MOVES = 150


def synthetic_image() -> np.ndarray:
    import cv2

    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    return cv2.resize(small, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)


def paint_stroke(canvas, start, end, full_repaint: bool = False) -> list[float]:
    """Frame times (ms) for a drag from `start` to `end` in widget pixels, painting after every move:
    the dirty region as the app does (`processEvents` flushes the pending update), or the whole view."""
    app = QApplication.instance()
    times = []
    mouse(canvas, QEvent.Type.MouseButtonPress, QPointF(*start))
    canvas.repaint()
    for i in range(1, MOVES + 1):
        t = i / MOVES
        pos = QPointF(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
        frames = canvas.frames
        began = time.perf_counter()
        mouse(canvas, QEvent.Type.MouseMove, pos)
        if full_repaint:
            canvas.repaint()
        else:
            app.processEvents()
        times.append((time.perf_counter() - began) * 1000)
        assert canvas.frames > frames, "no frame was painted"
    mouse(canvas, QEvent.Type.MouseButtonRelease, QPointF(*end))
    return times


def naive_frames(mask: np.ndarray, count: int = 10) -> list[float]:
    """Per move: full-size mask → RGBA overlay → QImage → drawn scaled into the view."""
    target = QImage(VIEW[0], VIEW[1], QImage.Format.Format_ARGB32_Premultiplied)
    times = []
    for _ in range(count):
        began = time.perf_counter()
        rgba = np.zeros((*mask.shape, 4), np.uint8)
        rgba[..., 0] = 255
        rgba[..., 3] = mask // 2
        image = QImage(rgba.data, WIDTH, HEIGHT, WIDTH * 4, QImage.Format.Format_RGBA8888)
        painter = QPainter(target)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(0, 0, VIEW[0], VIEW[0] * HEIGHT / WIDTH), image)
        painter.end()
        times.append((time.perf_counter() - began) * 1000)
    return times


def summary(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1], ordered[-1]


def main() -> None:
    app = QApplication.instance() or QApplication([])
    print(f"24 MP canvas benchmark: {WIDTH}×{HEIGHT} image, {VIEW[0]}×{VIEW[1]} view, {MOVES} moves/stroke")
    rgb = synthetic_image()
    document = ShootDocument()
    review = ReviewImage(0, "bench", Path("bench.jpg"), rgb, np.zeros((HEIGHT, WIDTH), np.uint8), "empty", [])
    began = time.perf_counter()
    content = prepare_content(review)
    prepare_ms = (time.perf_counter() - began) * 1000
    editor = EditorState()
    canvas = MaskCanvas(document, editor, PromptSession())
    canvas.resize(*VIEW)
    canvas.show()
    canvas.set_content(content)
    document.set_review(review)
    app.processEvents()
    canvas.repaint()

    rows = []
    for label, setup in (
        ("fit (whole image, ~23%)", canvas.fit),
        ("100% (1 image px per screen px)", canvas.actual_size),
        ("300% (pixels magnified)", lambda: canvas.zoom_to(3.0, QPointF(VIEW[0] / 2, VIEW[1] / 2))),
    ):
        setup()
        canvas.repaint()
        radius_screen = 40.0
        editor.set_brush(radius=radius_screen / canvas.scale)
        times = paint_stroke(canvas, (300, 300), (1100, 600))
        rows.append((f"MaskCanvas stroke, {label}", *summary(times)))
    canvas.fit()
    canvas.repaint()
    full = paint_stroke(canvas, (300, 800), (1100, 500), full_repaint=True)
    rows.append(("MaskCanvas stroke, fit, whole view repainted", *summary(full)))
    editor.set_overlay(outline=True)
    canvas.repaint()
    rows.append(
        ("MaskCanvas stroke, fit, outline mode", *summary(paint_stroke(canvas, (300, 700), (1100, 200))))
    )
    editor.set_overlay(outline=False)
    naive = summary(naive_frames(review.mask))
    rows.append(("naive: full-res mask → overlay per move", *naive))

    print(f"\npyramids for the image + mask, built once per image (background thread): {prepare_ms:.0f} ms\n")
    print(f"{'frame time (ms)':<48}{'median':>9}{'p95':>9}{'max':>9}{'vs naive':>11}")
    for name, median, p95, worst in rows:
        print(f"{name:<48}{median:>9.1f}{p95:>9.1f}{worst:>9.1f}{naive[0] / median:>10.0f}×")

    # -- memory per undo step -------------------------------------------------------------
    history = review.history
    history.clear()
    canvas.fit()
    editor.set_brush(radius=60.0)
    stroke_sizes = []
    for i in range(10):
        before = history.nbytes
        y = 400 + i * 300
        document.begin_stroke((500.0, float(y)), editor.brush)
        for x in range(500, 2500, 20):
            document.stroke_to((float(x), y + 100 * np.sin(x / 300)))
        document.end_stroke()
        stroke_sizes.append(history.nbytes - before)
    began = time.perf_counter()
    document.undo()
    undo_ms = (time.perf_counter() - began) * 1000
    document.redo()
    before = history.nbytes
    document.apply("grow", lambda m: mask_ops.grow(m, 25))
    grow_bytes = history.nbytes - before
    before = history.nbytes
    document.apply("invert", mask_ops.invert)
    invert_bytes = history.nbytes - before
    full = review.mask.nbytes
    print(f"\nmemory per undo step (a full copy of the mask would be {full / 1e6:.1f} MB):")
    print(
        f"  brush stroke, 2000 px long, 60 px radius: {statistics.mean(stroke_sizes) / 1e3:8.1f} kB "
        f"({full / statistics.mean(stroke_sizes):,.0f}× smaller than a copy)"
    )
    print(f"  grow by 25 px (whole mask):               {grow_bytes / 1e3:8.1f} kB")
    print(f"  invert (every pixel changes):             {invert_bytes / 1e3:8.1f} kB")
    print(f"  undo of one stroke: {undo_ms:.1f} ms")
    canvas.close()


if __name__ == "__main__":
    main()
