"""Text-prompted proposals (`filter --proposals grounded`): the `detector` role (OWLv2) finds boxes for the
class set's product prompts, SAM decodes one mask per box, and the masks go through the same CLIP scoring
and verdict as the grid's proposals (engine/filter/run.py), so CLIP with the "other" prompts still decides.

Instead of decoding 1,024 grid points and keeping what survives, SAM decodes only the few boxes the
detector found: the decoder's cost drops from seconds to milliseconds, and CLIP scores a handful of crops.
Regions are found only for the classes asked for; a run with other classes makes its own proposals.

```python
proposals = grounded_proposals(detector, session, work, class_set, GroundedSettings(), dtype)
```
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torchvision.ops import batched_nms

from engine.filter.classes import ClassSet
from engine.segment.session import Proposals, working_size


@dataclass(frozen=True)
class GroundedSettings:
    box_threshold: float = 0.1  # OWLv2's score (a sigmoid) a box needs; its authors' demos use 0.1
    box_nms: float = 0.5  # boxes of the same class overlapping more than this IoU are one object
    max_boxes: int = 16  # the best boxes kept per image (a product shoot has a few objects)

    def key(self) -> str:
        return f"box={self.box_threshold},box_nms={self.box_nms},max_boxes={self.max_boxes}"


def detector_queries(class_set: ClassSet) -> tuple[list[str], np.ndarray]:
    """The detector's text queries (every product prompt) and the class index each belongs to."""
    queries, owners = [], []
    for index, product_class in enumerate(class_set.classes):
        for prompt in product_class.prompts:
            queries.append(prompt)
            owners.append(index)
    return queries, np.array(owners, np.int64)


def find_boxes(
    detector: Any,
    rgb: np.ndarray,
    queries: list[str],
    owners: np.ndarray,
    settings: GroundedSettings,
    dtype: torch.dtype = torch.float32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes K x 4 float in pixels of `rgb`, scores K, class index K): the detector's boxes above the
    threshold, one per object and class (NMS within a class), at most `max_boxes`, best first."""
    found = detector(rgb, queries, settings.box_threshold, dtype)
    if len(found) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    classes = owners[found.labels]
    keep = batched_nms(
        torch.from_numpy(found.boxes),
        torch.from_numpy(found.scores),
        torch.from_numpy(classes),
        settings.box_nms,
    ).numpy()[: settings.max_boxes]
    return found.boxes[keep], found.scores[keep], classes[keep]


def grounded_proposals(
    detector: Any,
    session: Any,
    work: np.ndarray,
    class_set: ClassSet,
    settings: GroundedSettings | None = None,
    dtype: torch.dtype = torch.float32,
    max_side: int = 1024,
    embed: Callable[[], None] | None = None,
) -> Proposals:
    """Proposals at the working size for the image `session` holds (`SamSession.set_image` of the full
    image; `work` is it downscaled to the working size): a mask per detected box, empty masks dropped.

    `embed`: sets the session's image (its SAM embedding, seconds on a CPU), called only once the detector
    has found a box: an image without one is done without it (timings["embed"] says what it took)."""
    settings = settings or GroundedSettings()
    start = time.perf_counter()
    queries, owners = detector_queries(class_set)
    boxes, _, _ = find_boxes(detector, work, queries, owners, settings, dtype)
    detect = time.perf_counter() - start
    timings = {"detect": detect, "embed": 0.0}
    if len(boxes) == 0:
        empty = np.zeros((0, *work.shape[:2]), bool)
        none = np.zeros(0, np.float32)
        return Proposals(empty, np.zeros((0, 4), int), none, none, timings)
    if embed is not None:
        start = time.perf_counter()
        embed()
        timings["embed"] = time.perf_counter() - start
    height, width = session.predictor.original_size
    scale = np.array([width / work.shape[1], height / work.shape[0]] * 2, np.float32)
    proposals = session.masks_for_boxes(boxes * scale, max_side)
    nonempty = proposals.masks.reshape(len(proposals), -1).any(1) if len(proposals) else np.zeros(0, bool)
    return Proposals(
        proposals.masks[nonempty],
        proposals.boxes[nonempty],
        proposals.pred_iou[nonempty],
        proposals.stability[nonempty],
        {**timings, **proposals.timings},
    )


def select_by_name(
    detector: Any,
    session: Any,
    image_id: str,
    rgb: np.ndarray,
    class_set: ClassSet,
    base: np.ndarray,
    threshold: float = 0.1,
) -> tuple[np.ndarray, float, float] | None:
    """The canvas's "Select: hand bag": the detector's best box for `class_set`'s prompts (a one-class
    set) on the image, masked by SAM as a box prompt is (`predict_click`), added to `base` (HxW uint8).
    Returns (mask HxW uint8, SAM's score, the detector's score), or None when no box scores above
    `threshold`. The detector runs on the image scaled to SAM's working size (it resizes to its own
    input anyway) in SAM's precision."""
    from PIL import Image

    height, width = rgb.shape[:2]
    work_h, work_w = working_size(height, width, 1024)
    work = rgb
    if (work_h, work_w) != (height, width):
        work = np.asarray(Image.fromarray(rgb).resize((work_w, work_h), Image.Resampling.BILINEAR))
    queries, owners = detector_queries(class_set)
    settings = GroundedSettings(box_threshold=threshold, max_boxes=1)
    boxes, scores, _ = find_boxes(detector, work, queries, owners, settings, session.dtype)
    if len(boxes) == 0:
        return None  # found nothing: no need for SAM's embedding
    session.set_image(image_id, rgb)
    box = boxes[0] * np.array([width / work_w, height / work_h] * 2, np.float32)
    found = session.predict_click(box=box, multimask=False)
    return found.paste(base.astype(np.uint8, copy=False), 255), found.score, float(scores[0])
