"""Coarse-to-fine proposals (`filter --proposals coarse`): SAM on a coarse point grid first, CLIP picks the
coarse regions most like a product class, and the dense grid's points run only around those regions:
inside their boxes (grown by a margin) and within a coarse cell of the point that found each. Far fewer
prompts go through SAM's decoder than in the exact mode (`--points-per-side` alone), whose results it
does not reproduce: `tests/benchmarks/bench_filter.py --against-today` reports how its regions and
verdicts differ from the exact mode's, and its speed.

```python
proposals = coarse_proposals(sam, clip, work_rgb, settings, class_set)   # a Proposals, best first
```

The candidates are the CANDIDATES coarse regions with the highest class probability, never those above
a class's threshold: thresholds are not part of a run's key (a re-decision changes them without models),
so the regions must not depend on them. The prompts and the CLIP model are part of this mode's
proposals key instead (engine/filter/run.py).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from segment_anything.utils.amg import build_all_layer_point_grids
from torchvision.ops import batched_nms

from engine.filter.classes import ClassSet
from engine.segment.session import Proposals, ProposalSettings

COARSE_DIVISOR = 4  # the coarse grid has points_per_side / 4 a side (32 → 8: 64 prompts against 1,024)
CANDIDATES = 4  # coarse regions refined with the dense grid
BOX_MARGIN = 0.1  # a candidate's box grows by this share of its longer side on every side
# ... and the dense points refining it lie within this many coarse cells of the point that found it: a
# region is refined where its prompt is, also when its mask spreads over the whole image
REACH_CELLS = 1.0


def coarse_settings(settings: ProposalSettings) -> ProposalSettings:
    return replace(settings, points_per_side=max(1, settings.points_per_side // COARSE_DIVISOR))


def points_in_boxes(
    boxes: np.ndarray,
    points_per_side: int,
    hw: tuple[int, int],
    prompts: np.ndarray | None = None,
    reach: float = 1.0,
) -> np.ndarray:
    """The dense grid's points (x, y in [0, 1]) near any candidate: inside its box (x0, y0, x1, y1 pixels
    of an h x w image) grown by BOX_MARGIN, and, with `prompts` (the candidates' prompt points, x, y in
    [0, 1]), no farther than `reach` (a share of the image's side) from its prompt along either axis.
    Returns K x 2, in the grid's order."""
    grid = build_all_layer_point_grids(points_per_side, 0, 1)[0]
    if not len(boxes):
        return grid[:0]
    h, w = hw
    xy = grid * np.array([w, h])
    inside = np.zeros(len(grid), bool)
    for number, (x0, y0, x1, y1) in enumerate(np.asarray(boxes, float)):
        margin = BOX_MARGIN * max(x1 - x0 + 1, y1 - y0 + 1)
        near = (
            (xy[:, 0] >= x0 - margin)
            & (xy[:, 0] <= x1 + 1 + margin)
            & (xy[:, 1] >= y0 - margin)
            & (xy[:, 1] <= y1 + 1 + margin)
        )
        if prompts is not None:
            near &= np.abs(grid - prompts[number]).max(1) <= reach
        inside |= near
    return grid[inside]


def merge(parts: list[Proposals], nms_thresh: float) -> Proposals:
    """Proposals of several prompt sets as one: the library's box NMS over all, best predicted IoU first.
    (With none left, the first part: its empty mask stack keeps the working size.)"""
    if not any(len(p) for p in parts):
        return parts[0]
    parts = [p for p in parts if len(p)]
    masks = np.concatenate([p.masks for p in parts])
    boxes = np.concatenate([p.boxes for p in parts])
    iou = np.concatenate([p.pred_iou for p in parts])
    stability = np.concatenate([p.stability for p in parts])
    boxes_t = torch.as_tensor(boxes, dtype=torch.float)
    order = batched_nms(boxes_t, torch.as_tensor(iou), torch.zeros(len(boxes)), nms_thresh).numpy()
    return Proposals(masks[order], boxes[order], iou[order], stability[order])


def coarse_proposals(
    sam: Any,
    clip: Any,
    work: np.ndarray,
    settings: ProposalSettings,
    class_set: ClassSet,
    clip_batch: int = 32,
    min_area: int = 0,
    check: Any = None,
) -> Proposals:
    """Coarse grid → CLIP's CANDIDATES most product-like regions → the dense grid inside their boxes.

    sam: a SamSession with the image set; clip: a ClipScorer; work: the working-size RGB (h x w x 3
    uint8) the proposals are made at; min_area: smaller regions are not candidates (pixels)."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    coarse = sam.propose(coarse_settings(settings), check)
    timings["coarse"] = time.perf_counter() - start
    start = time.perf_counter()
    areas = coarse.masks.reshape(len(coarse), -1).sum(1) if len(coarse) else np.zeros(0, int)
    scored = np.flatnonzero(areas >= max(min_area, 1))
    probs = clip.score_crops(
        clip.crops(work, coarse.masks[scored], coarse.boxes[scored]), class_set, clip_batch
    )
    likeness = probs[:, : len(class_set.classes)].max(1) if len(probs) else np.zeros(0)
    candidates = scored[np.argsort(-likeness, kind="stable")[:CANDIDATES]]
    coarse_side = coarse_settings(settings).points_per_side
    prompts = coarse.points[candidates] if coarse.points is not None else None
    points = points_in_boxes(
        coarse.boxes[candidates], settings.points_per_side, work.shape[:2], prompts, REACH_CELLS / coarse_side
    )
    timings["candidates"] = time.perf_counter() - start
    start = time.perf_counter()
    empty = Proposals(coarse.masks[:0], coarse.boxes[:0], coarse.pred_iou[:0], coarse.stability[:0])
    refined = sam.propose(settings, check, points=points) if len(points) else empty
    timings["refine"] = time.perf_counter() - start
    merged = merge([coarse, refined], settings.box_nms_thresh)
    merged.timings = {**timings, "refined_points": float(len(points))}
    return merged
