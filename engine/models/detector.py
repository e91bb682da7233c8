"""The `detector` role: an open-vocabulary object detector (OWLv2, transformers) that finds boxes for text.

A transformers folder holding `Owlv2ForObjectDetection` (or the older `OwlViTForObjectDetection`) weights
and its processor (image processor + CLIP tokenizer), e.g. google/owlv2-base-patch16-ensemble. Why OWLv2:
one plain ViT forward per image plus a tiny text tower (16 tokens a query), so it runs anywhere torch
runs (no custom kernels; Grounding DINO's deformable attention falls back to slow Python-side sampling on a
CPU), its boxes come with per-query scores that need no tokenizer alignment, and its processor pads to a
square so boxes map back to any aspect ratio.

```python
detector = registry.detector()
found = detector(rgb, ["a photo of a hand bag.", "a photo of a shoe."], threshold=0.1)
found.boxes   # N x 4 float (x0, y0, x1, y1) in pixels of rgb; found.scores N; found.labels N (query index)
```
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.models.config import RoleSpec
from engine.models.errors import ModelError
from engine.models.locate import resolve
from engine.runtime.device import DeviceChoice

SUPPORTED = ("owlv2", "owlvit")  # model_type in config.json: the OWL family shares the processor's output


@dataclass(frozen=True)
class Detections:
    """Boxes for the queries on one image, best score first."""

    boxes: np.ndarray  # N x 4 float32 (x0, y0, x1, y1), pixels of the image given
    scores: np.ndarray  # N float32, sigmoid of the best query's logit
    labels: np.ndarray  # N int64, the index of that query

    def __len__(self) -> int:
        return len(self.boxes)


class Detector:
    """`detector(rgb, queries, threshold, dtype)` → `Detections`. `.model` lets the registry size it."""

    def __init__(self, model: Any, processor: Any, device: torch.device, key: str, side: int | None = None):
        self.model, self.processor, self.device, self.key = model, processor, device, key
        vision = model.config.vision_config
        # The input side: the model's own (960 px for OWLv2 base), or a smaller one with its position
        # embeddings interpolated (models.toml `image_size`; 480 px is 4x fewer tokens on a CPU).
        self.native = int(vision.image_size)
        self.side = int(side or self.native)

    @torch.inference_mode()
    def __call__(
        self,
        rgb: np.ndarray,
        queries: list[str],
        threshold: float = 0.1,
        dtype: torch.dtype = torch.float32,
    ) -> Detections:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"the detector expects HxWx3 uint8, got {rgb.shape} {rgb.dtype}")
        if not queries:
            raise ValueError("the detector needs at least one text query")
        rgb = rgb if rgb.flags.writeable else rgb.copy()  # torch refuses read-only arrays (PIL's)
        size = {"height": self.side, "width": self.side}
        inputs = self.processor(text=[list(queries)], images=rgb, size=size, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        if self.side != self.native:
            inputs["interpolate_pos_encoding"] = True
        reduced = dtype != torch.float32
        context = torch.autocast(self.device.type, dtype=dtype) if reduced else contextlib.nullcontext()
        with context:
            outputs = self.model(**inputs)
        outputs.logits = outputs.logits.float()
        outputs.pred_boxes = outputs.pred_boxes.float()
        height, width = rgb.shape[:2]
        found = self.processor.image_processor.post_process_object_detection(
            outputs, threshold=threshold, target_sizes=[(height, width)]
        )[0]
        order = torch.argsort(found["scores"], descending=True)
        boxes = found["boxes"][order].cpu().numpy().astype(np.float32)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)  # the padded square reaches past the image
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
        return Detections(
            boxes,
            found["scores"][order].cpu().numpy().astype(np.float32),
            found["labels"][order].cpu().numpy().astype(np.int64),
        )


def detector_key(folder: Path) -> str:
    """Identifies the weights (folder, weight files' sizes and mtimes, config) without hashing them."""
    parts = [str(folder.resolve())]
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("config.json")):
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "detector-" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def detector_model_key(registry: Any) -> str:
    """The key of the detector `registry` would load (torch-free apart from the registry itself)."""
    spec = registry.config.spec("detector")
    side = spec.option("image_size")
    return detector_key(resolve(spec, want_dir=True)) + (f"-{side}px" if side else "")


def load_detector(spec: RoleSpec, choice: DeviceChoice) -> Detector:
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    folder = resolve(spec, want_dir=True)
    try:
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as error:
        raise ModelError(f"Model 'detector': {folder} has no readable config.json ({error})") from error
    if model_type not in SUPPORTED:
        raise ModelError(
            f"Model 'detector': {folder} is a {model_type!r} model; use an OWLv2 folder such as "
            "google/owlv2-base-patch16-ensemble"
        )
    try:
        processor = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
        model = AutoModelForZeroShotObjectDetection.from_pretrained(
            str(folder), local_files_only=True, use_safetensors=True
        )
    except (OSError, ValueError) as error:
        raise ModelError(f"Model 'detector': {folder} does not load as OWLv2: {error}") from error
    side = spec.option("image_size")
    key = detector_key(folder) + (f"-{side}px" if side else "")
    return Detector(model.to(choice.device).eval(), processor, choice.device, key, side)
