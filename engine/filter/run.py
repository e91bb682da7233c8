"""The product filter: per image, SAM automatic masks → deduplicated → CLIP scores of the masked crops →
a verdict (engine/filter/verdict.py), with every score and region mask kept in the project store.

```python
product_filter = ProductFilter(registry, store, class_set)
reports = product_filter.run(paths, ctx)            # or: engine.submit(engine.filter(FilterRequest(...)))
redecide(store, class_set.with_threshold("shoe", 0.3), product_filter.run_key)   # engine/filter/scores.py
```

Results are keyed by (image content hash, run key); the run key names the models, the proposal settings
and the prompts (not the thresholds). A re-run does only images without a result for its key, so a
cancelled or crashed run resumes where it stopped, and a changed file (new hash) is done again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.filter.classes import ClassSet
from engine.filter.grounded import GroundedSettings, grounded_proposals
from engine.filter.report import FilterRun as FilterRun  # re-exported: callers import them here
from engine.filter.report import ImageReport as ImageReport
from engine.filter.scores import redecide
from engine.filter.verdict import Verdict, call_region
from engine.imaging.read import IMAGE_SUFFIXES, ImageReadError, read_image
from engine.project.claims import claim_owner
from engine.project.store import ProjectStore
from engine.project.values import ERROR, OTHER, OTHER_TOTAL
from engine.runtime.errors import is_fatal
from engine.runtime.jobs import JobCancelled, JobContext
from engine.runtime.pool import ordered_map
from engine.segment.session import Proposals, ProposalSettings, SamSession, working_size

CLAIM_POLL_S = 0.5  # how often a run looks again at images another run is processing


@dataclass(frozen=True)
class FilterSettings:
    proposals: ProposalSettings = field(default_factory=ProposalSettings)
    min_area_fraction: float = 0.001  # specks smaller than this share of the image are not scored
    clip_batch: int | None = None  # crops per CLIP call; None: measured per device and precision
    # auto|fp32|bf16|fp16 for SAM and CLIP (engine/runtime/device.choose_precision). Not in `key()`: the
    # precision it resolves to on this machine goes into the model keys (fp32 keeps the plain ones).
    precision: str = "auto"
    # exact: SAM's grid at points_per_side (seed-compatible); coarse: a coarse grid, then the dense grid
    # only around the regions CLIP finds most product-like (engine/filter/coarse.py); grounded: detector
    # boxes (engine/filter/grounded.py)
    proposals_mode: str = "exact"
    grounded: GroundedSettings = field(default_factory=GroundedSettings)  # used by the grounded mode only
    compile_encoder: bool = False  # torch.compile SAM's encoder: pays on big batches (not in `key()`)

    def key(self) -> str:
        key = f"{self.proposals.key()}|min_area={self.min_area_fraction}"
        if self.proposals_mode != "exact":  # exact keeps the keys stored before the modes existed
            key += f"|mode={self.proposals_mode}"
        if self.proposals_mode == "grounded":
            key += f"|{self.grounded.key()}"
        return key


def make_run_key(model_keys: str, settings: FilterSettings, class_set: ClassSet) -> str:
    text = f"{model_keys}|{settings.key()}|{class_set.prompts_key()}"
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def region_scores(probs: np.ndarray, class_set: ClassSet) -> dict[str, float]:
    """One crop's softmax row → what is stored: each class, the best "other" prompt, and all others."""
    n = len(class_set.classes)
    scores = {name: float(p) for name, p in zip(class_set.names, probs[:n], strict=True)}
    scores[OTHER] = float(probs[n:].max()) if len(probs) > n else 0.0
    scores[OTHER_TOTAL] = float(probs[n:].sum())
    return scores


def _region_entries(store: ProjectStore, rows: list, verdict: Verdict, class_set: ClassSet) -> list[dict]:
    """The verdict's regions with class, score, box and mask path, for reports and the GUI."""
    by_idx = {row["idx"]: row for row in rows}
    entries = []
    for idx in verdict.regions:
        row = by_idx[idx]
        scores = json.loads(row["scores"])
        name = call_region(idx, scores, class_set).name
        entries.append(
            {
                "index": idx,
                "class": name,
                "score": round(float(scores[name]), 4),
                "other": round(float(scores.get(OTHER, 0.0)), 4),
                "box": json.loads(row["box"]),
                "area": row["area"],
                "mask": str(store.root / row["mask_path"]) if row["mask_path"] else None,
            }
        )
    return entries


def decide_stored(store: ProjectStore, image_id: str, run_key: str, class_set: ClassSet) -> Verdict | None:
    """Decide an image from its stored scores and record the verdict; None if it has no result."""
    return redecide(store, class_set, run_key, [image_id]).get(image_id)


def downscale(rgb: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    if rgb.shape[:2] == tuple(size_hw):
        return rgb
    image = Image.fromarray(rgb).resize((size_hw[1], size_hw[0]), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image)


class ProductFilter:
    """Runs the filter over images into a project store. Models load on the first image that needs them.

    `propose(rgb_work) -> Proposals` replaces SAM (tests force a mask with it)."""

    def __init__(
        self,
        registry: Any,
        store: ProjectStore,
        class_set: ClassSet,
        settings: FilterSettings | None = None,
        propose: Callable[[np.ndarray], Proposals] | None = None,
    ):
        import torch

        from engine.filter.clip_scoring import clip_model_key
        from engine.runtime.device import choose_precision, torch_cpu
        from engine.segment.session import precision_key, sam_model_key

        self.registry, self.store, self.class_set = registry, store, class_set
        self.settings = settings or FilterSettings()
        self._propose = propose
        # Results of two precisions never mix: the resolved precision is part of both model keys.
        choice = getattr(registry, "choice", None)  # (a test's stand-in registry has none: the CPU)
        self.dtype = choose_precision(self.settings.precision, choice.device if choice else torch_cpu())
        # SAM's encoder and CLIP run in it; on the CPU SAM's proposal decoder stays fp32 (its IoU and
        # stability thresholds: a bf16 decoder moved the region count by 11%, bench_filter.py).
        sam_key = "forced-proposals" if propose is not None else sam_model_key(registry)
        sam_key = precision_key(sam_key, self.dtype)
        clip_key = precision_key(clip_model_key(registry), self.dtype)
        if self.dtype == torch.bfloat16:
            sam_key += "-decoder-fp32"  # (bf16 results made before the proposal decoder kept fp32 differ)
        self.grounded = self.settings.proposals_mode == "grounded" and propose is None
        if self.grounded:  # the regions depend on the detector and on the prompts it was given
            from engine.models.detector import detector_model_key

            detector_key = precision_key(detector_model_key(registry), self.dtype)
            sam_key = f"{sam_key}|{detector_key}|{class_set.prompts_key()}"
        self.run_key = make_run_key(f"{sam_key}|{clip_key}", self.settings, class_set)
        # Runs with the same SAM weights and proposal settings share regions, whatever their classes.
        # (Coarse proposals also depend on CLIP and the prompts: it chooses where the dense grid runs.)
        shared = f"{sam_key}|{self.settings.key()}"
        if self.settings.proposals_mode == "coarse":
            shared += f"|{clip_key}|{class_set.prompts_key()}"
        self.proposals_key = hashlib.sha1(shared.encode()).hexdigest()[:12]
        self._sam: SamSession | None = None
        self._clip: Any = None

    def _models(self, need_sam: bool = True) -> tuple[SamSession | None, Any]:
        from engine.filter.clip_scoring import ClipScorer

        if self._sam is None and self._propose is None and need_sam:
            self._sam = SamSession(
                self.registry, self.store.embeddings, self.settings.precision, self.settings.compile_encoder
            )
        if self._clip is None:
            self._clip = ClipScorer(self.registry, self.dtype)
        return self._sam, self._clip

    def process(
        self, path: Path, check: Callable[[], None] | None = None, owner: str | None = None
    ) -> ImageReport | None:
        """Decide one image: from stored scores when this run already did it, else with the models.

        With `owner` (a `claim_owner()`), returns None when another run holds the image's claim."""
        path = Path(path)
        rel = self.store.rel_path(path)
        try:
            image_id = self.store.register(path)
        except OSError as error:
            if is_fatal(error):
                raise  # the store's disk is full: every following image would fail the same way
            return ImageReport(
                path, rel, None, ERROR, reason=f"{path.name}: cannot be read ({error.strerror})"
            )
        verdict = decide_stored(self.store, image_id, self.run_key, self.class_set)
        reused = verdict is not None
        timings: dict[str, float] = {}
        if verdict is None and owner is not None and not self.store.claim(image_id, self.run_key, owner):
            verdict = decide_stored(self.store, image_id, self.run_key, self.class_set)
            if verdict is None:
                return None  # another process is on it: come back to it at the end
        if verdict is None:
            try:
                timings = self._read_and_score(path, image_id, check)
            finally:
                if owner is not None:
                    self.store.release(image_id, self.run_key, owner)
            verdict = decide_stored(self.store, image_id, self.run_key, self.class_set)
        assert verdict is not None
        rows = self.store.region_rows(image_id, self.run_key)
        return ImageReport(
            path,
            rel,
            image_id,
            verdict.verdict,
            verdict.classes,
            _region_entries(self.store, rows, verdict, self.class_set),
            _named_for(verdict.reason, path) if verdict.verdict == ERROR else verdict.reason,
            reused,
            len(rows),
            timings,
        )

    def _read_and_score(self, path: Path, image_id: str, check: Callable[[], None] | None) -> dict:
        try:
            loaded = read_image(path, self.store.raw_cache)
        except ImageReadError as error:
            self.store.save_result(image_id, self.run_key, status=ERROR, error=str(error))
            return {}
        return self._score(image_id, loaded.rgb, check)

    def _score(self, image_id: str, rgb: np.ndarray, check: Callable[[], None] | None) -> dict[str, float]:
        """Models → stored regions and scores for one image. Nothing is recorded if it is cancelled."""
        timings = {}
        start = time.perf_counter()
        work_hw = working_size(*rgb.shape[:2], self.settings.proposals.max_side)
        work = downscale(rgb, work_hw)
        # Another class set's run may already have this image's regions (never for forced proposals).
        stored = self._stored_proposals(image_id, work_hw) if self._propose is None else None
        sam, clip = self._models(need_sam=stored is None)
        if stored is not None:
            timings["embed"] = 0.0
            proposals = stored
        elif sam is not None and self.grounded:  # the detector first: no embedding without a box
            proposals = self._grounded_proposals(sam, work, lambda: sam.set_image(image_id, rgb))
            timings["embed"] = proposals.timings.pop("embed")
        elif sam is not None:
            sam.set_image(image_id, rgb)
            timings["embed"] = time.perf_counter() - start
            proposals = self._sam_proposals(sam, clip, work, check)
        else:
            proposals = self._propose(work)
        timings.update({f"sam_{k}": v for k, v in proposals.timings.items()})
        start = time.perf_counter()
        # (numpy cannot reshape an empty stack to (0, -1): an image without proposals has no areas)
        n = len(proposals)
        areas = proposals.masks.reshape(n, -1).sum(1) if n else np.zeros(0, np.int64)
        keep = np.flatnonzero(areas >= self.settings.min_area_fraction * work.shape[0] * work.shape[1])
        crops = clip.crops(work, proposals.masks[keep], proposals.boxes[keep])
        timings["crops"] = time.perf_counter() - start
        start = time.perf_counter()
        probs = clip.score_crops(crops, self.class_set, self._clip_batch(clip))
        timings["clip"] = time.perf_counter() - start
        if check is not None:
            check()
        start = time.perf_counter()
        mask_paths = ordered_map(  # PNG encoding and fsync release the GIL: the files are written in parallel
            lambda item: self.store.save_proposal_mask(image_id, self.run_key, *item),
            [(idx, proposals.masks[i]) for idx, i in enumerate(keep)],
        )
        regions = []
        for idx, (i, row) in enumerate(zip(keep, probs, strict=True)):
            regions.append(
                {
                    "idx": idx,
                    "box": [int(v) for v in proposals.boxes[i]],
                    "area": int(areas[i]),
                    "pred_iou": float(proposals.pred_iou[i]),
                    "stability": float(proposals.stability[i]),
                    "mask_path": mask_paths[idx],
                    "scores": region_scores(row, self.class_set),
                }
            )
        info = {
            "work_size": [work.shape[1], work.shape[0]],
            "proposals": len(proposals),
            "proposals_key": self.proposals_key,
            "timings": timings,
        }
        size = (rgb.shape[1], rgb.shape[0])
        self.store.save_result(image_id, self.run_key, status="done", size=size, info=info, regions=regions)
        timings["store"] = time.perf_counter() - start
        return timings

    def _grounded_proposals(self, sam: SamSession, work: np.ndarray, embed: Callable[[], None]) -> Proposals:
        detector = self.registry.detector()
        max_side = self.settings.proposals.max_side
        settings = self.settings.grounded
        return grounded_proposals(detector, sam, work, self.class_set, settings, self.dtype, max_side, embed)

    def _clip_batch(self, clip: Any) -> int:
        from engine.filter.clip_scoring import default_clip_batch

        return self.settings.clip_batch or default_clip_batch(clip.device, clip.dtype)

    def _sam_proposals(self, sam: SamSession, clip: Any, work: np.ndarray, check) -> Proposals:
        if self.settings.proposals_mode != "coarse":
            return sam.propose(self.settings.proposals, check)
        from engine.filter.coarse import coarse_proposals

        min_area = int(np.ceil(self.settings.min_area_fraction * work.shape[0] * work.shape[1]))
        return coarse_proposals(
            sam,
            clip,
            work,
            self.settings.proposals,
            self.class_set,
            self._clip_batch(clip),
            min_area,
            check,
        )

    def _stored_proposals(self, image_id: str, work_hw: tuple[int, int]) -> Proposals | None:
        """The regions an earlier run with the same SAM weights and proposal settings made for the image
        (other classes or prompts), read back from the store: editing the classes re-scores the regions
        with CLIP without running SAM again. None when there is no such run or its masks are gone."""
        start = time.perf_counter()
        for result in self.store.results_of(image_id):
            info = json.loads(result["info"] or "{}")
            if result["status"] != "done" or info.get("proposals_key") != self.proposals_key:
                continue
            rows = self.store.region_rows(image_id, result["run_key"])
            try:
                masks = [self.store.load_mask(row["mask_path"]) for row in rows]
            except OSError:
                continue  # a mask file was removed by hand: make the regions again
            if any(mask.shape != tuple(work_hw) for mask in masks):
                continue
            return Proposals(
                np.stack(masks) if masks else np.zeros((0, *work_hw), bool),
                np.array([json.loads(row["box"]) for row in rows], int).reshape(-1, 4),
                np.array([row["pred_iou"] for row in rows], np.float32),
                np.array([row["stability"] for row in rows], np.float32),
                {"reuse": time.perf_counter() - start},
            )
        return None

    def run(self, paths: list[Path], ctx: JobContext | None = None) -> list[ImageReport]:
        """Every image in order; one bad image becomes an `error` report and the run goes on."""
        reports: list[ImageReport | None] = [None] * len(paths)
        check = ctx.check_cancelled if ctx is not None else None
        owner = claim_owner()  # images another run (CLI or GUI) is processing are left to it
        pending = self._pass(list(enumerate(paths)), reports, owner, ctx, check)
        while pending:
            time.sleep(CLAIM_POLL_S)  # only the images other runs hold are left: wait for them
            pending = self._pass(pending, reports, owner, ctx, check)
        if ctx is not None:
            ctx.progress(len(paths), len(paths), "done")
        return [r for r in reports if r is not None]

    def _pass(self, pending, reports, owner, ctx, check) -> list:
        """Process `pending` (index, path) pairs into `reports`; returns those held by another run."""
        held = []
        for number, path in pending:
            if ctx is not None:
                ctx.check_cancelled()
                ctx.progress(sum(r is not None for r in reports), len(reports), Path(path).name)
            try:
                report = self.process(path, check, owner)
                if report is None:
                    held.append((number, path))
                    continue
                reports[number] = report
            except JobCancelled:
                raise
            except Exception as error:  # one image's failure must not stop the shoot
                if is_fatal(error):
                    raise  # a model that cannot load, a full disk: every image would fail the same way
                reports[number] = ImageReport(
                    Path(path),
                    self.store.rel_path(Path(path)),
                    None,
                    ERROR,
                    reason=f"{Path(path).name}: processing failed ({type(error).__name__}: {error})",
                )
        return held


def _named_for(reason: str | None, path: Path) -> str | None:
    """A stored read error names the file that produced it; files of identical content (two empty
    files, a copy) share one stored result, so each report names its own file instead."""
    head, sep, rest = (reason or "").partition(": ")
    if sep and head != path.name and Path(head).suffix.lower() in IMAGE_SUFFIXES:
        return f"{path.name}: {rest}"
    return reason
