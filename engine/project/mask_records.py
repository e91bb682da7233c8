"""The project store's masks (engine/project/store.py): PNG files under the store root, one per filter
region and one edited mask per image, written atomically, and the mask the review desk starts from.

`ProjectStore` inherits `MaskRecords`; the mixin uses the store's root, `_tx`, `_rows` and
`region_rows`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from engine.runtime.atomic import atomic_save, remove_dead_temps


def _mask_to_png(mask: np.ndarray):
    from PIL import Image

    if mask.ndim != 2:
        raise ValueError(f"a mask is HxW, got shape {mask.shape}")
    if mask.dtype == np.uint8:  # an edited mask: soft edges (feather, soft brush) are kept as they are
        return Image.fromarray(np.ascontiguousarray(mask), "L")
    return Image.fromarray(np.where(mask > 0, 255, 0).astype(np.uint8), "L")


class MaskRecords:
    """Mask files and their records (a mixin of `ProjectStore`)."""

    def _write_mask(self, rel: str, mask: np.ndarray) -> str:
        image = _mask_to_png(mask)
        # Level 1: binary masks compress almost as well, several times faster (~100 regions an image).
        atomic_save(self.root / rel, lambda handle: image.save(handle, format="PNG", compress_level=1))
        return rel

    def load_mask(self, rel: str, size: tuple[int, int] | None = None) -> np.ndarray:
        """A stored mask as HxW bool; `size` (width, height) resizes it smoothly (masks of large images
        are kept at the filter's working resolution)."""
        return self.load_mask_values(rel, size) >= 128

    def load_mask_values(self, rel: str, size: tuple[int, int] | None = None) -> np.ndarray:
        """A stored mask as HxW uint8 0..255 (soft edges of an edited mask included)."""
        from PIL import Image

        with Image.open(self.root / rel) as image:
            image = image.convert("L")
            if size is not None and image.size != tuple(size):
                image = image.resize(tuple(size), Image.Resampling.BILINEAR)
            return np.array(image, dtype=np.uint8)  # a writable copy: the editor paints into it

    def save_proposal_mask(self, image_id: str, run_key: str, index: int, mask: np.ndarray) -> str:
        """Write one filter region's mask; returns its path relative to the store root."""
        if index == 0 and (self.root / "masks" / image_id).is_dir():  # a killed run's half-written masks
            remove_dead_temps(self.root / "masks" / image_id)
        return self._write_mask(f"masks/{image_id}/{run_key}-{index:03d}.png", mask)

    def save_edited_mask(self, image_id: str, mask: np.ndarray) -> Path:
        """The user's mask for the image (HxW bool, or uint8 0..255 with soft edges, at the image's
        size); never touched by filter runs."""
        rel = self._write_mask(f"masks/{image_id}/edited.png", mask)
        self._tx("INSERT OR REPLACE INTO edited_masks VALUES(?,?,?)", (image_id, rel, time.time()))
        return self.root / rel

    def edited_mask(self, image_id: str) -> np.ndarray | None:
        values = self.edited_mask_values(image_id)
        return None if values is None else values >= 128

    def edited_mask_values(self, image_id: str) -> np.ndarray | None:
        """The user's mask as saved: HxW uint8 0..255, or None when the image has no edit."""
        rows = self._rows("SELECT mask_path FROM edited_masks WHERE image_id=?", (image_id,))
        return self.load_mask_values(rows[0]["mask_path"]) if rows else None

    def delete_edited_mask(self, image_id: str) -> None:
        """Go back to the filter's proposal (the PNG file stays until overwritten; the record goes)."""
        self._tx("DELETE FROM edited_masks WHERE image_id=?", (image_id,))

    def product_mask(self, image_id: str, size: tuple[int, int]) -> np.ndarray | None:
        """Union of the product regions of the current verdict at `size` (width, height), or None."""
        rows = self._rows("SELECT run_key, regions FROM verdicts WHERE image_id=?", (image_id,))
        if not rows or not json.loads(rows[0]["regions"] or "[]"):
            return None
        union = np.zeros((size[1], size[0]), bool)
        for row in self.region_rows(image_id, rows[0]["run_key"]):
            if row["idx"] in json.loads(rows[0]["regions"]) and row["mask_path"]:
                union |= self.load_mask(row["mask_path"], size)
        return union

    def mask_for_review(self, image_id: str, size: tuple[int, int]) -> np.ndarray | None:
        """The edited mask if the user made one, else the filter's product mask, else None."""
        edited = self.edited_mask(image_id)
        return edited if edited is not None else self.product_mask(image_id, size)
