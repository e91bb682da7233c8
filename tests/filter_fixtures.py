"""Helpers for the product-filter tests: shoot images, forced proposals, prompts CLIP ranks first/last."""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.filter.classes import ClassSet, ProductClass
from engine.segment.session import Proposals

CANDIDATE_PROMPTS = [
    "a photo of a red bag.",
    "a photo of a shoe.",
    "a photo of a car.",
    "a photo of a watch.",
    "a photo of a wall.",
    "a photo of a floor.",
    "a photo of a table.",
    "a photo of a lamp.",
    "a photo of a person.",
    "a photo of a tree.",
]
PRODUCT_BOX = (40, 30, 120, 90)  # x0, y0, x1, y1 of the drawn product in shoot_image()


def shoot_image(path, color=(200, 40, 20), size=(160, 120)):
    """A light backdrop with one textured 'product' block."""
    rng = np.random.default_rng(sum(color))
    rgb = np.full((size[1], size[0], 3), 235, np.uint8)
    x0, y0, x1, y1 = PRODUCT_BOX
    rgb[y0:y1, x0:x1] = np.clip(np.array(color) + rng.integers(-20, 20, (y1 - y0, x1 - x0, 3)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def product_mask(shape_hw) -> np.ndarray:
    mask = np.zeros(shape_hw, bool)
    x0, y0, x1, y1 = PRODUCT_BOX
    mask[y0:y1, x0:x1] = True
    return mask


def boxes_of(masks) -> np.ndarray:
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max(), ys.max()])
    return np.array(boxes)


def forced(masks: list[np.ndarray]):
    """A `propose` replacement for ProductFilter: these masks, whatever the image."""

    def propose(rgb):
        n = len(masks)
        return Proposals(np.stack(masks), boxes_of(masks), np.ones(n, np.float32), np.ones(n, np.float32))

    return propose


def one_class(prompt: str, others: list[str], threshold=0.0, margin=0.0, band=0.0) -> ClassSet:
    return ClassSet((ProductClass("product", (prompt,), threshold, margin),), tuple(others), band)


def prompt_probabilities(registry, rgb, masks, prompts) -> np.ndarray:
    """N crops x len(prompts) CLIP probabilities (each prompt its own entry), via the filter's scorer."""
    from engine.filter.clip_scoring import ClipScorer

    scorer = ClipScorer(registry)
    class_set = ClassSet((ProductClass(prompts[0], (prompts[0],)),), tuple(prompts[1:]))
    return scorer.score(rgb, np.stack(masks), boxes_of(masks), class_set)
