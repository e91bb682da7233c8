"""Trimaps from product masks, and alphas held to them: the soft edge lives only in a band at the edge.

A trimap marks each pixel as background (0), foreground (255) or unknown (128). Here the unknown band is
`band` px wide, centred on the mask's edge (half inside, half outside, by Euclidean distance), so a matting
model may soften the edge there and nowhere else: `clamp_alpha` makes the alpha exactly 0 or 1 outside
the band whatever the model says.
"""

from __future__ import annotations

import numpy as np

BACKGROUND, UNKNOWN, FOREGROUND = 0, 128, 255


def make_trimap(mask: np.ndarray, band: int) -> np.ndarray:
    """HxW uint8 trimap of `mask` (HxW bool, or uint8 where ≥ 128 is the product) with an unknown band
    of `band` px (≥ 1) around its edge."""
    import cv2

    if band < 1:
        raise ValueError("the edge band must be at least 1 px")
    binary = (mask if mask.dtype == bool else mask >= 128).astype(np.uint8)
    inside, outside = (band + 1) // 2, band // 2  # px of the band on each side of the edge
    # Distance of each product pixel to the nearest background pixel, and the reverse.
    to_background = cv2.distanceTransform(binary, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    to_product = cv2.distanceTransform(1 - binary, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    trimap = np.full(binary.shape, UNKNOWN, np.uint8)
    trimap[(binary == 1) & (to_background > inside)] = FOREGROUND
    trimap[(binary == 0) & (to_product > outside)] = BACKGROUND
    if not binary.any():
        trimap[:] = BACKGROUND  # no edge, no band
    elif binary.all():
        trimap[:] = FOREGROUND
    return trimap


def clamp_alpha(alpha: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """`alpha` (HxW float 0..1) inside the trimap's unknown band; exactly 0 / 1 outside it."""
    clamped = np.clip(alpha.astype(np.float32), 0.0, 1.0)
    clamped[trimap == BACKGROUND] = 0.0
    clamped[trimap == FOREGROUND] = 1.0
    return clamped


def band_box(trimap: np.ndarray, margin: int) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the unknown band grown by `margin` px (context for the model),
    within the image; None when there is no band."""
    rows, cols = np.nonzero(trimap == UNKNOWN)
    if rows.size == 0:
        return None
    height, width = trimap.shape
    return (
        max(0, int(cols.min()) - margin),
        max(0, int(rows.min()) - margin),
        min(width, int(cols.max()) + 1 + margin),
        min(height, int(rows.max()) + 1 + margin),
    )
