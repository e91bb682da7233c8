"""What the mask canvas draws, prepared off the UI thread: pyramids of the image, the mask and the
filter's regions, and the colours they are drawn in."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.project.document import RegionLayer, ReviewImage
from gui.review.image_pyramid import Pyramid

# Mask overlay colours; "auto" picks the one farthest from the product's own colour, so the overlay
# stays visible on a red bag as well as a blue one.
OVERLAY_COLOURS = {
    "pink": (255, 64, 96),
    "cyan": (0, 200, 255),
    "green": (60, 230, 90),
    "yellow": (255, 220, 0),
}
CLASS_PALETTE = [(64, 200, 255), (255, 200, 40), (120, 230, 90), (200, 120, 255), (255, 140, 60)]


def class_colour(name: str) -> tuple[int, int, int]:
    """A stable colour per product class (same class, same colour, in every image)."""
    return CLASS_PALETTE[sum(name.encode()) % len(CLASS_PALETTE)]


@dataclass
class CanvasContent:
    """What the canvas shows, prepared off the UI thread by `prepare_content`."""

    review: ReviewImage
    image: Pyramid
    mask: Pyramid  # levels[0] is review.mask itself, so edits land in it directly
    regions: list[tuple[RegionLayer, Pyramid]] = field(default_factory=list)
    auto_colour: tuple[int, int, int] = OVERLAY_COLOURS["pink"]


def contrasting_colour(rgb: np.ndarray, mask: np.ndarray) -> tuple[int, int, int]:
    """The overlay colour farthest (in RGB) from the mean colour under `mask` (HxW; the whole image
    when the mask is empty). `rgb`: HxWx3 uint8 at any size matching `mask`."""
    inside = mask > 0
    pixels = rgb[inside] if inside.any() else rgb.reshape(-1, 3)
    mean = pixels.reshape(-1, 3).mean(axis=0) if pixels.size else np.zeros(3)
    return max(OVERLAY_COLOURS.values(), key=lambda c: float(np.sum((np.array(c) - mean) ** 2)))


def prepare_content(review: ReviewImage) -> CanvasContent:
    """Build the pyramids (tens of ms at 24 MP): call it on a background thread."""
    regions = [(layer, Pyramid(layer.mask.astype(np.uint8) * 255)) for layer in review.regions]
    image, mask = Pyramid(review.rgb), Pyramid(review.mask)
    # The product's colour: the filter's regions when there is no mask yet.
    small_mask = mask.levels[-1] if mask.levels[-1].any() or not regions else regions[0][1].levels[-1]
    auto = contrasting_colour(image.levels[-1][..., :3], small_mask)
    return CanvasContent(review, image, mask, regions, auto)


def edges(binary: np.ndarray, width: int) -> np.ndarray:
    """The pixels on the border of a binary mask (morphological gradient, `width` px thick)."""
    kernel = np.ones((width, width), np.uint8)
    return cv2.morphologyEx(binary.astype(np.uint8), cv2.MORPH_GRADIENT, kernel) > 0
