"""A thin adapter between the mask editor and the project store (engine/store.py): the editor's 8-bit
masks (soft edges from feather and soft brushes) are stored as they are; other readers of the store see
them as hard masks at 128."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from engine.project.store import ProjectStore
from engine.project.values import OTHER, OTHER_TOTAL


@dataclass
class RegionLayer:
    """One product region the filter found: shown in its class colour, usable in union/subtract."""

    index: int
    class_name: str
    score: float
    mask: np.ndarray  # HxW bool at the image's size
    visible: bool = True


def save_review_mask(store: ProjectStore, image_id: str, mask: np.ndarray) -> Path:
    """Save `mask` (HxW uint8, soft values kept) as the image's edited mask."""
    return store.save_edited_mask(image_id, np.asarray(mask, np.uint8))


def load_review_mask(store: ProjectStore, image_id: str, size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """The mask to review at `size` (width, height) as HxW uint8, and where it came from:
    "edited" (the user's), "filter" (union of the product regions), or "empty"."""
    edited = store.edited_mask_values(image_id)
    if edited is not None:
        return _fit(edited, size), "edited"
    product = store.product_mask(image_id, size)
    if product is not None:
        return product.astype(np.uint8) * 255, "filter"
    return np.zeros((size[1], size[0]), np.uint8), "empty"


def _fit(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if mask.shape == (size[1], size[0]):
        return mask
    return np.asarray(Image.fromarray(mask, "L").resize(size, Image.Resampling.BILINEAR), dtype=np.uint8)


def load_region_layers(store: ProjectStore, image_id: str, size: tuple[int, int]) -> list[RegionLayer]:
    """The product regions of the image's current verdict, each named by its best-scoring class."""
    verdict = store.verdict(image_id)
    if verdict is None or not verdict["run_key"]:
        return []
    wanted = set(json.loads(verdict["regions"] or "[]"))
    layers = []
    for row in store.region_rows(image_id, verdict["run_key"]):
        if row["idx"] not in wanted or not row["mask_path"]:
            continue
        scores = json.loads(row["scores"] or "{}")
        classes = {k: v for k, v in scores.items() if k not in (OTHER, OTHER_TOTAL)}
        name, score = max(classes.items(), key=lambda item: item[1]) if classes else ("product", 0.0)
        try:
            mask = store.load_mask(row["mask_path"], size)
        except OSError:
            continue  # a missing proposal file: show the others
        layers.append(RegionLayer(int(row["idx"]), str(name), float(score), mask))
    return layers
