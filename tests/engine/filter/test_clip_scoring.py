"""The crops CLIP sees: cut along the mask, the rest neutral, square, padded past the image's edge."""

from __future__ import annotations

import numpy as np

from engine.filter.clip_scoring import CROP_PAD, mask_crop

FILL = (123, 117, 104)


def test_crop_keeps_only_the_masked_pixels_in_a_padded_square():
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:] = (0, 0, 255)  # everything outside the mask is blue: none of it may reach the crop
    mask = np.zeros((100, 200), bool)
    mask[40:60, 150:200] = True  # 50 x 20, touching the right edge of the image
    mask[45:55, 170:180] = False  # a hole: background inside the box
    rgb[mask] = (255, 0, 0)
    side = 50 + 2 * round(50 * CROP_PAD)
    crop = np.asarray(mask_crop(rgb, mask, (150, 40, 199, 59), side, FILL))
    assert crop.shape == (side, side, 3)  # no resampling at this size: the pixels are exact
    red = (crop == (255, 0, 0)).all(-1)
    fill = (crop == FILL).all(-1)
    assert red.sum() == mask.sum() and (red | fill).all()  # every masked pixel, nothing of the blue
    rows, cols = np.nonzero(red)
    assert rows.min() > 0 and rows.max() < side - 1  # centred, with context padding on every side
    assert fill[:, cols.max() + 1 :].all()  # beyond the image's right edge: padding, not wrapped pixels
    small = np.asarray(mask_crop(rgb, mask, (150, 40, 199, 59), 24, FILL))
    assert small.shape == (24, 24, 3) and not (small[..., 2] > 128).any()  # resized, still no blue
