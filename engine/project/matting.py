"""Soft product edges: the `matting` role's alpha, fed a trimap made from the mask.

```python
edge = refine_edge(rgb, mask, registry.matting(), band=12)   # RefinedEdge(alpha, trimap)
alpha8 = cutout_alpha(rgb, mask, registry, band=12)          # HxW uint8: the cut-out's alpha channel
```

Only the band around the mask's edge is sent to the model (with some context), scaled down to at most
`MAX_SIDE` px, and the alpha is exactly 0 or 1 outside the band (engine/imaging/trimap.py). Export
(cut-outs), the canvas's "Refine edge" and enhancement's blend all use this one path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.imaging.trimap import band_box, clamp_alpha, make_trimap

MAX_SIDE = 1024  # the crop the model sees, long side (ViTMatte-small at 1024² is ~1 GB of activations)
DEFAULT_BAND = 12  # px: a hair-thin strap or a soft shadow edge at product-shot resolutions
Matte = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rgb HxWx3 uint8, trimap HxW uint8) → alpha


@dataclass
class RefinedEdge:
    """`alpha`: HxW float32 0..1, soft only where `trimap` (HxW uint8, 0/128/255) is unknown."""

    alpha: np.ndarray
    trimap: np.ndarray
    band: int
    image_id: str = ""  # which image it belongs to, when a job asked for it by id

    def alpha8(self) -> np.ndarray:
        """The alpha as HxW uint8 (a cut-out's alpha channel, a mask PNG)."""
        return np.round(self.alpha * 255.0).astype(np.uint8)


def refine_edge(
    rgb: np.ndarray, mask: np.ndarray, matte: Matte, band: int = DEFAULT_BAND, max_side: int = MAX_SIDE
) -> RefinedEdge:
    """Matte the edge of `mask` (HxW bool or uint8 ≥ 128) on `rgb` (HxWx3 uint8, same size)."""
    if rgb.shape[:2] != mask.shape[:2]:
        raise ValueError(f"refine edge: image {rgb.shape[:2]} and mask {mask.shape[:2]} differ in size")
    trimap = make_trimap(mask, band)
    alpha = (trimap == 255).astype(np.float32)
    box = band_box(trimap, margin=2 * band + 16)
    if box is not None:
        left, top, right, bottom = box
        crop_rgb, crop_trimap = rgb[top:bottom, left:right], trimap[top:bottom, left:right]
        alpha[top:bottom, left:right] = _matte_scaled(matte, crop_rgb, crop_trimap, max_side)
    return RefinedEdge(clamp_alpha(alpha, trimap), trimap, band)


def _matte_scaled(matte: Matte, rgb: np.ndarray, trimap: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    height, width = trimap.shape
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return matte(np.ascontiguousarray(rgb), np.ascontiguousarray(trimap))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small_trimap = cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST)
    small_alpha = matte(small_rgb, small_trimap).astype(np.float32)
    return cv2.resize(small_alpha, (width, height), interpolation=cv2.INTER_LINEAR)


def cutout_alpha(rgb: np.ndarray, mask: np.ndarray, registry: Any, band: int = DEFAULT_BAND) -> np.ndarray:
    """The alpha channel of a cut-out of `mask`'s product: HxW uint8, soft in the edge band, 0/255
    elsewhere. For export: loads the `matting` role through `registry` (engine thread)."""
    return refine_edge(rgb, mask, registry.matting(), band).alpha8()
