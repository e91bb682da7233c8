"""Mask editing operations on HW uint8 masks (0 = background, 255 = product, values between = soft edge).

Brush dabs are computed only inside the bounding box they touch, so painting cost follows the brush size,
not the image size. Whole-mask operations use OpenCV and SciPy (exact distance transforms, Gaussian blur,
hole filling) rather than Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

BBox = tuple[int, int, int, int]  # (y0, y1, x0, x1), half-open, in mask pixels


@dataclass(frozen=True)
class Brush:
    """A round brush. `radius` in mask pixels; `hardness` 1 = hard edge, 0 = soft to the centre."""

    radius: float = 20.0
    hardness: float = 0.8
    erase: bool = False


def clip_bbox(bbox: BBox, shape: tuple[int, ...]) -> BBox | None:
    y0, y1, x0, x1 = bbox
    y0, x0 = max(0, y0), max(0, x0)
    y1, x1 = min(shape[0], y1), min(shape[1], x1)
    return (y0, y1, x0, x1) if y1 > y0 and x1 > x0 else None


def union_bbox(a: BBox | None, b: BBox | None) -> BBox | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def segment_bbox(p0: tuple[float, float], p1: tuple[float, float], radius: float, shape) -> BBox | None:
    """The pixels a brush of `radius` can touch moving from p0 to p1 (points are (x, y))."""
    pad = int(np.ceil(radius)) + 1
    x0, x1 = sorted((p0[0], p1[0]))
    y0, y1 = sorted((p0[1], p1[1]))
    return clip_bbox((int(y0) - pad, int(y1) + pad + 1, int(x0) - pad, int(x1) + pad + 1), shape)


def _segment_coverage(bbox: BBox, p0, p1, brush: Brush) -> np.ndarray:
    """Coverage 0..255 (uint8) of the capsule swept from p0 to p1, shaped like the bbox.

    The distance of every pixel to the segment comes from one OpenCV distance transform of the segment
    drawn as a line (exact Euclidean distance to the drawn pixels), which is several times faster than
    evaluating the point-to-segment formula in numpy for large brushes.
    """
    y0, y1, x0, x1 = bbox
    line = np.full((y1 - y0, x1 - x0), 255, np.uint8)
    a = (round(float(p0[0]) - 0.5) - x0, round(float(p0[1]) - 0.5) - y0)
    b = (round(float(p1[0]) - 0.5) - x0, round(float(p1[1]) - 0.5) - y0)
    cv2.line(line, a, b, 0, 1, cv2.LINE_8)
    dist = cv2.distanceTransform(line, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # Hardness sets how much of the radius is fully opaque; the rest ramps linearly to 0 at the rim.
    soft = max(brush.radius * (1.0 - brush.hardness), 0.75)  # keep ~1 px of antialiasing when hard
    ramp = (brush.radius - dist) * np.float32(255.0 / soft)
    return np.clip(ramp + 0.5, 0, 255, out=ramp).astype(np.uint8)


def paint_segment(mask: np.ndarray, p0, p1, brush: Brush) -> BBox | None:
    """Stamp the brush along p0 → p1 into `mask` in place; return the bbox that may have changed.

    Painting takes the max of the mask and the brush coverage, erasing the min, so dabs that overlap
    within a stroke never darken or lighten twice.
    """
    bbox = segment_bbox(p0, p1, brush.radius, mask.shape)
    if bbox is None:
        return None
    y0, y1, x0, x1 = bbox
    coverage = _segment_coverage(bbox, p0, p1, brush)
    region = mask[y0:y1, x0:x1]
    if brush.erase:
        np.minimum(region, 255 - coverage, out=region)
    else:
        np.maximum(region, coverage, out=region)
    return bbox


def grow(mask: np.ndarray, pixels: float) -> np.ndarray:
    """Grow (pixels > 0) or shrink (pixels < 0) the mask by an exact Euclidean distance."""
    if pixels == 0:
        return mask.copy()
    binary = mask >= 128
    if pixels > 0:
        # Distance of every background pixel to the nearest mask pixel: one pass, any radius.
        distance = cv2.distanceTransform((~binary).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        return np.where(distance <= pixels, np.uint8(255), mask).astype(np.uint8)
    distance = cv2.distanceTransform(binary.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.where(distance > -pixels, mask, np.uint8(0)).astype(np.uint8)


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soften the edge with a Gaussian blur whose visible reach is about `radius` pixels."""
    if radius <= 0:
        return mask.copy()
    sigma = radius / 3.0
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill background regions fully enclosed by the mask (a strap loop, a logo hole)."""
    filled = ndimage.binary_fill_holes(mask >= 128)
    return np.where(filled & (mask < 128), np.uint8(255), mask).astype(np.uint8)


def invert(mask: np.ndarray) -> np.ndarray:
    return (255 - mask).astype(np.uint8)


def union(mask: np.ndarray, other: np.ndarray) -> np.ndarray:
    _check_same_shape(mask, other)
    return np.maximum(mask, other)


def subtract(mask: np.ndarray, other: np.ndarray) -> np.ndarray:
    _check_same_shape(mask, other)
    return np.minimum(mask, 255 - other)


def changed_bbox(before: np.ndarray, after: np.ndarray) -> BBox | None:
    """The smallest bbox holding every pixel that differs, or None when nothing changed."""
    if _eight_pixels_a_word(before, after):
        return _changed_bbox_by_words(before, after)
    diff = before != after
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff[rows[0] : rows[-1] + 1].any(axis=0))
    return (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


def _eight_pixels_a_word(before: np.ndarray, after: np.ndarray) -> bool:
    return (
        before.dtype == after.dtype == np.uint8
        and before.ndim == after.ndim == 2
        and before.shape == after.shape
        and before.shape[1] % 8 == 0
        and before.flags.c_contiguous
        and after.flags.c_contiguous
    )


def _changed_bbox_by_words(before: np.ndarray, after: np.ndarray) -> BBox | None:
    """`changed_bbox` for uint8 masks compared 8 pixels at a time (a 24 MP SAM result in ~2.4 ms instead
    of ~4.9), then pixel by pixel inside the first and the last differing column of words."""
    words = before.view(np.uint64) != after.view(np.uint64)
    rows = np.flatnonzero(words.any(axis=1))
    if rows.size == 0:
        return None
    band = slice(rows[0], rows[-1] + 1)
    word_cols = np.flatnonzero(words[band].any(axis=0))
    first, last = int(word_cols[0]) * 8, int(word_cols[-1]) * 8
    left = (
        first + np.flatnonzero((before[band, first : first + 8] != after[band, first : first + 8]).any(0))[0]
    )
    right = last + np.flatnonzero((before[band, last : last + 8] != after[band, last : last + 8]).any(0))[-1]
    return (int(rows[0]), int(rows[-1]) + 1, int(left), int(right) + 1)


def _check_same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"masks differ in size: {a.shape[::-1]} vs {b.shape[::-1]}")
