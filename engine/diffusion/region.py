"""Where inpainting works and how its result goes back: the AUTOMATIC1111 "only masked" geometry.

The work region is the mask's bounding box plus padding, grown to the model's aspect (diffusers'
`VaeImageProcessor.get_crop_region`, which is A1111's rule) and to a multiple of 8. The region is processed
at the model's resolution and scaled back; the result is blended through the feathered mask, so every
pixel where the feathered mask is 0 keeps the original's exact value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from engine.imaging.native import rgb8_to_native
from engine.runtime.jobs import EngineError


class MaskError(EngineError):
    exit_code = 2


@dataclass(frozen=True)
class Region:
    """A box in upright image pixels: left/top inclusive, right/bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


def check_mask(mask: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """`mask` (HxW, bool or 0..255) as bool; a clear error when it is empty or the wrong size."""
    if mask.ndim == 3:
        mask = mask[..., 0] if mask.shape[2] in (1, 3) else mask[..., -1]  # RGB(A) masks: a channel
    width, height = image_size
    if mask.shape != (height, width):
        raise MaskError(
            f"The mask is {mask.shape[1]}×{mask.shape[0]} but the image is {width}×{height} (upright)."
        )
    binary = mask > 127 if mask.dtype != bool else mask
    if not binary.any():
        raise MaskError("The mask is empty: there is nothing to enhance.")
    return binary


def masked_region(mask: np.ndarray, work_size: tuple[int, int], padding: int) -> Region:
    """The "only masked" region of bool `mask` for a model working at `work_size` (W, H)."""
    from diffusers.image_processor import VaeImageProcessor

    height, width = mask.shape
    # ~0.5 s on a 24 MP mask (it scans columns in Python): small beside one diffusion step.
    x1, y1, x2, y2 = VaeImageProcessor.get_crop_region(
        Image.fromarray(mask.astype(np.uint8) * 255, "L"), work_size[0], work_size[1], pad=padding
    )
    return _grow_to_multiple(Region(x1, y1, x2, y2), 8, (width, height))


def whole_region(image_size: tuple[int, int]) -> Region:
    return Region(0, 0, *image_size)


def fit_work_size(region: Region, longest: int) -> tuple[int, int]:
    """The whole-image work size: the region's aspect, the long side `longest`, multiples of 8."""
    scale = longest / max(region.width, region.height)
    return (
        max(8, round(region.width * scale / 8) * 8),
        max(8, round(region.height * scale / 8) * 8),
    )


def _grow_to_multiple(region: Region, multiple: int, image_size: tuple[int, int]) -> Region:
    left, right = _grow_span(region.left, region.right, multiple, image_size[0])
    top, bottom = _grow_span(region.top, region.bottom, multiple, image_size[1])
    return Region(left, top, right, bottom)


def _grow_span(start: int, end: int, multiple: int, limit: int) -> tuple[int, int]:
    start, end = max(start, 0), min(end, limit)
    want = min(-(-(end - start) // multiple) * multiple, limit - limit % multiple or limit)
    extra = want - (end - start)
    if extra <= 0:
        return start, end
    end = min(end + extra - extra // 2, limit)
    start = max(end - want, 0)
    return start, start + want


def feathered_alpha(mask_region: np.ndarray, blur: float) -> np.ndarray:
    """Float alpha 0..1 of the bool region mask blurred by `blur` px (A1111's "mask blur")."""
    image = Image.fromarray(mask_region.astype(np.uint8) * 255, "L")
    if blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image, dtype=np.float32) / 255.0


def blend_region(
    original: np.ndarray, generated_rgb8: np.ndarray, alpha: np.ndarray, mode: str
) -> np.ndarray:
    """The original region (native dtype/layout) with the generated pixels blended in through `alpha`;
    where alpha is 0 the result is the original's value, bit for bit."""
    result = original.copy()
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return result
    # Only the feathered mask's bounding box is computed: in whole-image mode the region is the
    # whole 24 MP photo, and float copies of all of it would cost gigabytes.
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    result[box] = _blend(original[box], generated_rgb8[box], alpha[box], mode)
    return result


def _blend(original: np.ndarray, generated_rgb8: np.ndarray, alpha: np.ndarray, mode: str) -> np.ndarray:
    generated = rgb8_to_native(generated_rgb8, original, mode)
    weight = alpha if original.ndim == 2 else alpha[..., None]
    mixed = original.astype(np.float64) * (1.0 - weight) + generated * weight
    high = 65535 if original.dtype == np.uint16 else 255
    mixed = np.clip(np.rint(mixed), 0, high).astype(original.dtype)
    if original.ndim == 3 and mode in ("LA", "RGBA", "RGBA;16"):
        mixed[..., -1] = original[..., -1]  # the original's transparency stays exactly as it was
    keep = weight == 0 if original.ndim == 2 else np.broadcast_to(weight == 0, original.shape)
    return np.where(keep, original, mixed)


def resize_rgb8(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 resized to `size` (W, H) with Lanczos (down- and upscaling)."""
    if (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    return np.asarray(Image.fromarray(rgb, "RGB").resize(size, Image.Resampling.LANCZOS))
