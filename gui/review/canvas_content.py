"""What the mask canvas draws, prepared off the UI thread: pyramids of the image, the mask and the
filter's regions, and the colours they are drawn in."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.project.document import RegionLayer, ReviewImage
from gui.review.image_pyramid import Pyramid

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


def prepare_content(review: ReviewImage) -> CanvasContent:
    """Build the pyramids (tens of ms at 24 MP): call it on a background thread."""
    regions = [(layer, Pyramid(layer.mask.astype(np.uint8) * 255)) for layer in review.regions]
    return CanvasContent(review, Pyramid(review.rgb), Pyramid(review.mask), regions)


def edges(binary: np.ndarray, width: int) -> np.ndarray:
    """The pixels on the border of a binary mask (morphological gradient, `width` px thick)."""
    kernel = np.ones((width, width), np.uint8)
    return cv2.morphologyEx(binary.astype(np.uint8), cv2.MORPH_GRADIENT, kernel) > 0
