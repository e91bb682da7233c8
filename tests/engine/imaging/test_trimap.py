"""Trimaps from masks: the unknown band has the width asked for, and alphas are 0/1 outside it."""

from __future__ import annotations

import numpy as np
import pytest

from engine.imaging.trimap import BACKGROUND, FOREGROUND, UNKNOWN, band_box, clamp_alpha, make_trimap


def square_mask(size=100, box=(30, 30, 70, 70)) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = 255
    return mask


@pytest.mark.parametrize("band", [2, 8, 13])
def test_the_unknown_band_straddles_the_edge_with_the_chosen_width(band):
    trimap = make_trimap(square_mask(), band)
    assert set(np.unique(trimap)) == {BACKGROUND, UNKNOWN, FOREGROUND}
    row = trimap[50]  # a horizontal line through the middle crosses the left edge at x = 30
    unknown = np.nonzero(row[:50] == UNKNOWN)[0]
    assert len(unknown) == band and unknown.min() <= 29 < 30 <= unknown.max()
    assert (row[: unknown.min()] == BACKGROUND).all() and (row[unknown.max() + 1 : 50] == FOREGROUND).all()


def test_empty_and_full_masks_have_no_band_and_bad_widths_are_refused():
    assert (make_trimap(np.zeros((20, 20), bool), 6) == BACKGROUND).all()
    assert (make_trimap(np.ones((20, 20), bool), 6) == FOREGROUND).all()
    assert band_box(make_trimap(np.zeros((20, 20), bool), 6), 4) is None
    with pytest.raises(ValueError, match="at least 1 px"):
        make_trimap(square_mask(), 0)


def test_clamped_alpha_is_soft_only_in_the_band():
    trimap = make_trimap(square_mask(), 10)
    alpha = clamp_alpha(np.full(trimap.shape, 0.4, np.float32), trimap)
    assert (alpha[trimap == BACKGROUND] == 0).all() and (alpha[trimap == FOREGROUND] == 1).all()
    assert (alpha[trimap == UNKNOWN] == np.float32(0.4)).all()
    assert band_box(trimap, 3) == (22, 22, 78, 78)
