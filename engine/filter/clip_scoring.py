"""CLIP scoring of mask crops: each region is cut out along its mask, the background neutralised, padded
to a square, and all crops of an image are scored in one batched call against the product classes and
the "other" prompts.

```python
scorer = ClipScorer(registry)
probs = scorer.score(rgb, masks, boxes, class_set)   # N x (classes + others), rows sum to 1
```
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
from typing import Any

import numpy as np
import torch
from PIL import Image

from engine.filter.classes import ClassSet
from engine.runtime.device import batch_workers
from engine.runtime.pool import map_batches, ordered_map

CROP_PAD = 0.08  # context kept around the mask's box, as a fraction of its longer side


def default_clip_batch(device: torch.device, dtype: torch.dtype) -> int:
    """Crops per CLIP call: 64 on a GPU; on the CPU 16, the fastest measured on a 2-core Zen 4 (ViT-B-32,
    100 crops, ms a crop): fp32 61.5 at 16, 63.5 at 32; `ClipScorer`'s bf16 copy of the image encoder
    29.4 at 16, 37.8 at 32, 36.2 at 64 (bf16 autocast: 78 at 32). Two batches run side by side there
    (engine/runtime/device.batch_workers: 27.4-28.7 ms a crop in bf16 against 29.7-32.4 at 16)."""
    return 64 if device.type != "cpu" else 16


def clip_model_key(registry: Any) -> str:
    """Identifies the CLIP weights (path, size, mtime, options) without hashing the file."""
    from engine.models.locate import resolve

    spec = registry.config.spec("clip")
    path = resolve(spec)
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{sorted(spec.options.items())}"
    return "clip-" + hashlib.sha1(text.encode()).hexdigest()[:12]


def neutral_fill(preprocess: Any) -> tuple[int, int, int]:
    """The RGB colour CLIP's normalisation maps to zero: the most neutral background for a cut-out."""
    for transform in getattr(preprocess, "transforms", []):
        mean = getattr(transform, "mean", None)
        if mean is not None and len(mean) == 3:
            return tuple(round(float(m) * 255) for m in mean)
    return (124, 116, 104)


def mask_crop(
    rgb: np.ndarray, mask: np.ndarray, box: np.ndarray, size: int, fill: tuple[int, int, int]
) -> Image.Image:
    """The region's pixels inside a square of `size`: outside the mask is `fill`, never the raw box.

    rgb: HxWx3 uint8; mask: HxW bool; box: (x0, y0, x1, y1) inclusive, in rgb's pixels."""
    x0, y0, x1, y1 = (int(v) for v in box)
    side = max(x1 - x0 + 1, y1 - y0 + 1)
    pad = round(side * CROP_PAD)
    side += 2 * pad
    cx, cy = (x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2
    left, top = round(cx - side / 2), round(cy - side / 2)
    # The part of the square that lies inside the image (the rest stays fill: padding to square).
    sx0, sy0 = max(left, 0), max(top, 0)
    sx1, sy1 = min(left + side, rgb.shape[1]), min(top + side, rgb.shape[0])
    # Pillow's masked paste: 3x faster than numpy's masked copy into a filled array, same pixels.
    canvas = Image.new("RGB", (side, side), fill)
    region = Image.fromarray(np.ascontiguousarray(rgb[sy0:sy1, sx0:sx1]), "RGB")
    canvas.paste(
        region, (sx0 - left, sy0 - top), Image.fromarray(np.ascontiguousarray(mask[sy0:sy1, sx0:sx1]))
    )
    return canvas.resize((size, size), Image.Resampling.BICUBIC)


class ClipScorer:
    """open_clip from the registry; text features cached per class set with the loaded model.

    In bf16 on a CPU the image encoder runs as a bf16 copy of its weights: under autocast, which re-cast
    the weights on every call, bf16 was slower than fp32; as a copy it is ~2x faster (`default_clip_batch`).
    An image's last, smaller batch costs its share (4 crops: 130-215 ms; padded to 16: 430-675 ms)."""

    def __init__(self, registry: Any, dtype: torch.dtype = torch.float32):
        self.registry = registry
        self.bundle = registry.clip()
        self.dtype = dtype  # the encoders run in it (bf16 / fp16); scores come out float32
        self.model = self.bundle.model
        self.fill = neutral_fill(self.bundle.preprocess)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @torch.inference_mode()
    def text_features(self, class_set: ClassSet) -> torch.Tensor:
        """(classes + others) x D, unit length: a class is the normalised mean of its prompts' features
        (prompt ensembling); each "other" prompt stands alone. Kept with the loaded model: every run with
        the same prompts shares them."""
        key = (class_set.prompts_key(), self.dtype)
        cache = self.bundle.text_features
        if key not in cache:
            prompts = [p for c in class_set.classes for p in c.prompts] + list(class_set.other)
            tokens = self.bundle.tokenizer(prompts).to(self.device)
            # (on a CPU in float32: a few prompts, once per class set)
            with self._autocast() if self.device.type != "cpu" else contextlib.nullcontext():
                features = self.model.encode_text(tokens).float()
            features = features / features.norm(dim=-1, keepdim=True)
            rows, start = [], 0
            for product_class in class_set.classes:
                mean = features[start : start + len(product_class.prompts)].mean(0)
                rows.append(mean / mean.norm())
                start += len(product_class.prompts)
            cache[key] = torch.cat([torch.stack(rows), features[start:]])
        return cache[key]

    def crops(self, rgb: np.ndarray, masks: np.ndarray, boxes: np.ndarray) -> list[Image.Image]:
        size = self.bundle.image_size
        pairs = zip(masks, boxes, strict=True)
        return ordered_map(lambda pair: mask_crop(rgb, pair[0], pair[1], size, self.fill), pairs)

    @torch.inference_mode()
    def score_crops(self, crops: list[Image.Image], class_set: ClassSet, batch_size: int = 64) -> np.ndarray:
        """N x (classes + others) probabilities: a softmax over every class and every "other" prompt."""
        n_entries = len(class_set.classes) + len(class_set.other)
        if not crops:
            return np.zeros((0, n_entries), np.float32)
        text = self.text_features(class_set)
        scale = self.model.logit_scale.exp().float()
        bf16_copy = self.dtype == torch.bfloat16 and self.device.type == "cpu"
        if bf16_copy and self.bundle.bf16_visual is None:  # kept with the loaded model: made once
            self.bundle.bf16_visual = copy.deepcopy(self.model.visual).to(torch.bfloat16)
            self.registry.recount("clip")  # the copy counts against the models' memory budget

        def probabilities(batch: list[Image.Image]) -> torch.Tensor:
            with torch.inference_mode():  # (per thread)
                pixels = torch.stack([self.bundle.preprocess(c) for c in batch]).to(self.device)
                image = self._encode_image(pixels, bf16_copy)
                image = image / image.norm(dim=-1, keepdim=True)
                return (scale * image @ text.T).softmax(dim=-1)

        batches = [crops[start : start + batch_size] for start in range(0, len(crops), batch_size)]
        return torch.cat(map_batches(probabilities, batches, batch_workers(self.device))).cpu().numpy()

    def _encode_image(self, batch: torch.Tensor, bf16_copy: bool) -> torch.Tensor:
        """Image features (float32) of a batch of preprocessed crops."""
        if not bf16_copy:
            with self._autocast():
                return self.model.encode_image(batch).float()
        return self.bundle.bf16_visual(batch.to(torch.bfloat16)).float()

    def score(
        self, rgb: np.ndarray, masks: np.ndarray, boxes: np.ndarray, class_set: ClassSet, batch_size: int = 64
    ) -> np.ndarray:
        """Score every region of one image (rgb HxWx3 uint8, masks NxHxW bool, boxes Nx4) in one batch."""
        return self.score_crops(self.crops(rgb, masks, boxes), class_set, batch_size)
