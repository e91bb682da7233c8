"""Screen-resolution rendering of huge images and masks.

A `Pyramid` holds an array at full size and at 1/2, 1/4, ... (each level the area average of the one
below). Rendering a view picks the coarsest level that still has at least one source pixel per screen
pixel and resamples only the screen-sized output, so the cost of a frame follows the window size, not
the 24 MP image. Masks keep their pyramid current by updating only the bounding box a stroke touched.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MIN_LEVEL_SIDE = 256  # stop halving once the image is this small


def _half(array: np.ndarray) -> np.ndarray:
    height, width = array.shape[:2]
    return cv2.resize(array, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_AREA)


class Pyramid:
    """`levels[0]` is the array itself (HxW or HxWxC uint8, not copied); `levels[k]` is 2^-k of it."""

    def __init__(self, array: np.ndarray):
        self.levels = [array]
        while max(self.levels[-1].shape[:2]) > MIN_LEVEL_SIDE:
            self.levels.append(_half(self.levels[-1]))

    @property
    def shape(self) -> tuple[int, ...]:
        return self.levels[0].shape

    def update(self, bbox: tuple[int, int, int, int]) -> None:
        """Recompute the coarser levels inside `bbox` (y0, y1, x0, x1 at full size) after an edit."""
        y0, y1, x0, x1 = bbox
        for level in range(1, len(self.levels)):
            finer, coarse = self.levels[level - 1], self.levels[level]
            y0, x0 = y0 // 2, x0 // 2
            y1, x1 = min(coarse.shape[0], (y1 + 1) // 2), min(coarse.shape[1], (x1 + 1) // 2)
            if y1 <= y0 or x1 <= x0:
                return
            source = finer[2 * y0 : min(2 * y1, finer.shape[0]), 2 * x0 : min(2 * x1, finer.shape[1])]
            coarse[y0:y1, x0:x1] = cv2.resize(source, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)

    def level_for(self, scale: float) -> int:
        """The coarsest level with >= 1 source pixel per screen pixel at `scale` (screen px per image px)."""
        if scale >= 1.0:
            return 0
        return max(0, min(len(self.levels) - 1, math.floor(math.log2(1.0 / scale))))

    def render(
        self,
        scale: float,
        offset: tuple[float, float],
        rect: tuple[int, int, int, int],
        border: int | tuple[int, ...] = 0,
    ) -> np.ndarray:
        """The screen pixels of `rect` (x, y, w, h in widget pixels) for a view where
        screen = image * scale + offset. Outside the image: `border`."""
        x, y, w, h = rect
        level = self.level_for(scale)
        source = self.levels[level]
        # Scale of this level relative to the full image (the last row/column may be partial).
        fy = source.shape[0] / self.levels[0].shape[0]
        fx = source.shape[1] / self.levels[0].shape[1]
        # Inverse map: screen pixel centre (u + 0.5) → source pixel centre (src + 0.5).
        sx, sy = fx / scale, fy / scale
        matrix = np.array(
            [
                [sx, 0.0, (x + 0.5 - offset[0]) * sx - 0.5],
                [0.0, sy, (y + 0.5 - offset[1]) * sy - 0.5],
            ],
            dtype=np.float64,
        )
        # Past 2x magnification show the pixels themselves (as photo editors do), else interpolate.
        interpolation = cv2.INTER_NEAREST if scale > 2.0 else cv2.INTER_LINEAR
        if isinstance(border, int) and source.ndim == 3:
            border = (border,) * source.shape[2]
        return cv2.warpAffine(
            source,
            matrix,
            (w, h),
            flags=interpolation | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
