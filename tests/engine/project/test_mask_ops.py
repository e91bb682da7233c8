"""Mask operations: brush geometry, grow/shrink by exact distances, feather, holes, boolean ops."""

from __future__ import annotations

import numpy as np
import pytest

from engine.project import mask_ops
from engine.project.mask_ops import Brush


def disc(shape, centre, radius):
    ys, xs = np.ogrid[: shape[0], : shape[1]]
    return ((xs + 0.5 - centre[0]) ** 2 + (ys + 0.5 - centre[1]) ** 2 <= radius**2).astype(np.uint8) * 255


def test_a_hard_dab_covers_its_disc_and_nothing_outside_its_bbox():
    mask = np.zeros((200, 300), np.uint8)
    bbox = mask_ops.paint_segment(mask, (100, 80), (100, 80), Brush(radius=20, hardness=1.0))
    y0, y1, x0, x1 = bbox
    assert y0 <= 60 and y1 >= 100 and x0 <= 80 and x1 >= 120
    outside = mask.copy()
    outside[y0:y1, x0:x1] = 0
    assert not outside.any()
    expected = disc(mask.shape, (100, 80), 20)
    # Identical except a 1-pixel antialiased rim.
    assert np.count_nonzero((mask >= 128) != (expected > 0)) < 2 * np.pi * 20 * 0.6
    assert mask[80, 100] == 255 and mask[80, 125] == 0


def test_a_drag_paints_a_capsule_and_soft_brushes_ramp_down():
    mask = np.zeros((100, 200), np.uint8)
    mask_ops.paint_segment(mask, (20, 50), (180, 50), Brush(radius=10, hardness=1.0))
    assert (mask[50, 20:181] == 255).all()
    assert mask[35, 100] == 0
    soft = np.zeros((100, 100), np.uint8)
    mask_ops.paint_segment(soft, (50, 50), (50, 50), Brush(radius=20, hardness=0.0))
    profile = soft[50, 50:75].astype(int)
    assert profile[0] > 240 and profile[-1] == 0
    assert (np.diff(profile) <= 0).all() and len(set(profile)) > 10


def test_painting_is_idempotent_over_a_stroke_and_the_eraser_removes():
    mask = np.zeros((100, 100), np.uint8)
    brush = Brush(radius=15, hardness=0.5)
    mask_ops.paint_segment(mask, (50, 50), (50, 50), brush)
    once = mask.copy()
    mask_ops.paint_segment(mask, (50, 50), (50, 50), brush)
    np.testing.assert_array_equal(mask, once)
    mask_ops.paint_segment(mask, (50, 50), (50, 50), Brush(radius=15, hardness=1.0, erase=True))
    assert mask[50, 50] == 0 and mask[50, 40] == 0


def test_dabs_off_the_image_are_clipped():
    mask = np.zeros((50, 50), np.uint8)
    assert mask_ops.paint_segment(mask, (-100, -100), (-90, -90), Brush(radius=5)) is None
    bbox = mask_ops.paint_segment(mask, (0, 0), (0, 0), Brush(radius=5))
    assert bbox[0] == 0 and bbox[2] == 0 and mask[0, 0] == 255


def test_grow_and_shrink_move_the_edge_by_the_exact_distance():
    square = np.zeros((100, 100), np.uint8)
    square[40:60, 40:60] = 255
    grown = mask_ops.grow(square, 5)
    assert grown[50, 35] == 255 and grown[50, 34] == 0  # 5 px to the left of column 40
    assert grown[35, 35] == 0  # the corner is rounded (Euclidean), not square
    shrunk = mask_ops.grow(square, -5)
    assert shrunk[50, 45] == 255 and shrunk[50, 44] == 0
    assert np.count_nonzero(mask_ops.grow(square, -11)) == 0


def test_feather_softens_only_near_the_edge():
    square = np.zeros((200, 200), np.uint8)
    square[50:150, 50:150] = 255
    soft = mask_ops.feather(square, 9)
    assert soft[100, 100] == 255 and soft[100, 20] == 0
    assert 100 < soft[100, 50] < 160  # the edge itself sits near half
    assert len(np.unique(soft[100, 40:60])) > 5


def test_fill_holes_fills_enclosed_background_only():
    ring = disc((100, 100), (50, 50), 30)
    ring[disc((100, 100), (50, 50), 10) > 0] = 0
    ring[:, :5] = 0
    filled = mask_ops.fill_holes(ring)
    assert filled[50, 50] == 255
    assert filled[2, 2] == 0
    np.testing.assert_array_equal(filled[ring > 0], ring[ring > 0])


def test_invert_union_subtract():
    a = np.zeros((10, 10), np.uint8)
    a[:, :5] = 255
    b = np.zeros((10, 10), np.uint8)
    b[:5, :] = 255
    np.testing.assert_array_equal(mask_ops.invert(a), 255 - a)
    assert mask_ops.union(a, b)[0, 9] == 255 and mask_ops.union(a, b)[9, 9] == 0
    sub = mask_ops.subtract(a, b)
    assert sub[0, 0] == 0 and sub[9, 0] == 255 and sub[9, 9] == 0
    with pytest.raises(ValueError, match="differ in size"):
        mask_ops.union(a, np.zeros((5, 5), np.uint8))


def test_changed_bbox_is_tight():
    a = np.zeros((50, 60), np.uint8)
    b = a.copy()
    b[10:12, 20:31] = 7
    assert mask_ops.changed_bbox(a, b) == (10, 12, 20, 31)
    assert mask_ops.changed_bbox(a, a) is None


@pytest.mark.parametrize("width", [64, 61, 8])  # 8 pixels a word, and the plain path
def test_changed_bbox_compares_words_exactly(width):
    rng = np.random.default_rng(width)
    before = rng.integers(0, 2, (40, width), dtype=np.uint8) * 255
    assert mask_ops.changed_bbox(before, before.copy()) is None
    corners = [(0, 0), (39, width - 1), (0, width - 1), (39, 0)]
    cases = [[p] for p in corners] + [[(5, 3), (5, 4)], [(7, 9 % width), (30, width - 2)]]
    flat = [rng.choice(40 * width, 3, replace=False) for _ in range(20)]  # distinct: two flips would undo
    cases += [[divmod(int(i), width) for i in picks] for picks in flat]
    for pixels in cases:
        after = before.copy()
        for y, x in pixels:
            after[y, x] ^= 1  # a change of one bit, inside a word
        ys, xs = zip(*pixels, strict=True)
        assert mask_ops.changed_bbox(before, after) == (min(ys), max(ys) + 1, min(xs), max(xs) + 1)
