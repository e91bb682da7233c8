"""Undo/redo: one stroke is one small step, undo restores the exact previous mask, memory is bounded."""

from __future__ import annotations

import itertools

import numpy as np

from engine.project import mask_ops
from engine.project.history import MaskHistory, StrokeRecorder
from engine.project.mask_ops import Brush


def paint_stroke(history, masks, key, points, brush):
    recorder = StrokeRecorder(key, masks[key])
    for p0, p1 in itertools.pairwise(points):
        recorder.before_change(mask_ops.segment_bbox(p0, p1, brush.radius, masks[key].shape))
        mask_ops.paint_segment(masks[key], p0, p1, brush)
    history.push(recorder.finish())


def test_undo_restores_the_exact_previous_mask_and_redo_the_stroke():
    rng = np.random.default_rng(0)
    masks = {"a": rng.integers(0, 256, (600, 800), dtype=np.uint8)}
    history = MaskHistory(masks.__getitem__)
    before = masks["a"].copy()
    paint_stroke(history, masks, "a", [(100, 100), (300, 150), (500, 400), (700, 500)], Brush(30, 0.3))
    after = masks["a"].copy()
    assert not np.array_equal(before, after)
    assert len(history) == 1  # one stroke, one step
    step = history.undo()
    np.testing.assert_array_equal(masks["a"], before)
    assert step.bbox[1] - step.bbox[0] < 600 or step.bbox[3] - step.bbox[2] < 800
    history.redo()
    np.testing.assert_array_equal(masks["a"], after)


def test_a_stroke_step_stores_its_bbox_not_the_whole_mask():
    masks = {"a": np.zeros((4000, 6000), np.uint8)}
    history = MaskHistory(masks.__getitem__)
    paint_stroke(history, masks, "a", [(1000, 1000), (1200, 1100)], Brush(40, 0.8))
    step = history.undo()
    y0, y1, x0, x1 = step.bbox
    assert (y1 - y0) * (x1 - x0) < 400 * 300
    assert history.nbytes < 50_000  # compressed bbox values, far below the 24 MB of the mask


def test_a_stroke_over_its_own_path_records_the_values_before_the_stroke():
    masks = {"a": np.zeros((300, 300), np.uint8)}
    history = MaskHistory(masks.__getitem__)
    masks["a"][100:200, 100:200] = 90
    before = masks["a"].copy()
    # Goes back over itself across tile borders: the recorder must keep the first value it saw.
    paint_stroke(history, masks, "a", [(50, 150), (250, 150), (50, 160), (250, 140)], Brush(40, 0.2))
    history.undo()
    np.testing.assert_array_equal(masks["a"], before)


def test_abort_puts_back_a_stroke_in_progress():
    masks = {"a": np.full((256, 256), 30, np.uint8)}
    before = masks["a"].copy()
    recorder = StrokeRecorder("a", masks["a"])
    for p in [(10, 10), (200, 200)]:
        recorder.before_change(mask_ops.segment_bbox(p, p, 20, masks["a"].shape))
        mask_ops.paint_segment(masks["a"], p, p, Brush(20))
    recorder.abort()
    np.testing.assert_array_equal(masks["a"], before)


def test_replace_is_one_step_and_a_new_edit_clears_redo():
    masks = {"a": np.zeros((100, 100), np.uint8), "b": np.zeros((100, 100), np.uint8)}
    history = MaskHistory(masks.__getitem__)
    masks["a"][20:40, 20:40] = 255
    history.replace("a", mask_ops.grow(masks["a"], 4), "grow")
    grown = masks["a"].copy()
    history.replace("b", mask_ops.invert(masks["b"]), "invert")
    assert history.replace("b", masks["b"].copy(), "nothing") is None
    history.undo()
    assert not masks["b"].any()
    history.undo()
    assert masks["a"].sum() == 20 * 20 * 255
    history.redo()
    np.testing.assert_array_equal(masks["a"], grown)
    history.replace("a", np.zeros((100, 100), np.uint8), "clear")
    assert not history.can_redo


def test_history_is_bounded_by_steps_and_bytes():
    rng = np.random.default_rng(1)
    masks = {"a": np.zeros((250, 250), np.uint8)}
    history = MaskHistory(masks.__getitem__, max_bytes=300_000, max_steps=1000)
    for _ in range(20):
        # Noise does not compress: each step holds ~62 kB, so only the latest four fit.
        history.replace("a", rng.integers(0, 256, (250, 250), dtype=np.uint8), "noise")
    assert history.nbytes <= 300_000 and len(history) == 4
    small = MaskHistory(masks.__getitem__, max_steps=3)
    for i in range(10):
        small.replace("a", np.full((250, 250), i + 1, np.uint8), "fill")
    assert len(small) == 3
