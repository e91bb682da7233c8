"""An image's product mask and its instances at the ORIGINAL size, upright as the user sees it (EXIF
orientation applied), whatever size the filter worked at: the user's edited mask (soft edges kept) or
the union of the filter's product regions, each region one instance with its class and score."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.project.masks import load_region_layers, load_review_mask
from engine.project.store import ImageEntry, ProjectStore


@dataclass
class Instance:
    """One product: its class, score (CLIP probability), and HxW bool mask at the original size."""

    class_name: str
    score: float
    mask: np.ndarray


@dataclass
class ImageMasks:
    values: np.ndarray  # HxW uint8, 0..255 (soft edges of an edited mask kept)
    source: str  # "edited" | "filter"
    instances: list[Instance] = field(default_factory=list)  # their union is `values >= 128`


def image_masks(store: ProjectStore, entry: ImageEntry, size: tuple[int, int]) -> ImageMasks | None:
    """The masks of `entry` at `size` (width, height, upright), or None when it has none."""
    values, source = load_review_mask(store, entry.image_id, size)
    if source == "empty" or not values.any():
        return None
    layers = load_region_layers(store, entry.image_id, size)
    if source == "filter" and layers:
        # Each region as its own instance; their union is exactly the mask the review shows.
        instances = [Instance(layer.class_name, layer.score, layer.mask) for layer in layers]
        return ImageMasks(values, source, instances)
    # An edited mask is one product: named by the class most of its regions had, scored by the best.
    classes = sorted(entry.classes.items(), key=lambda item: -item[1])
    name = classes[0][0] if classes else (layers[0].class_name if layers else "product")
    score = max((layer.score for layer in layers if layer.class_name == name), default=1.0)
    return ImageMasks(values, source, [Instance(name, score, values >= 128)])
