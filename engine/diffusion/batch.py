"""Batch enhancement: one recipe over many (image, mask) items, e.g. every `product` image of class X.

The items come from whoever holds the masks (the project store, or mask PNGs beside the images), so this
module needs no store. Items whose verdict is not `product` are skipped; an image that already has an
`<stem>_enh_*.png` in the output folder is counted as done, so a cancelled or crashed batch resumes where
it stopped. A cancelled image writes nothing; a bad image is reported and the batch goes on.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.diffusion.enhance import Variant, enhance, load_mask, save_variants
from engine.diffusion.fidelity import FidelityReport
from engine.diffusion.recipes import EnhanceRecipe
from engine.models.errors import ModelError
from engine.runtime.jobs import EngineError, JobCancelled, JobContext
from engine.runtime.staged import recover_staged

MaskSource = np.ndarray | Path | Callable[[tuple[int, int]], np.ndarray | None]


@dataclass(frozen=True)
class BatchItem:
    """One image of a batch. `mask`: HxW array (upright), a mask PNG path, or a function of the upright
    (width, height) that loads it when its turn comes (so a batch never holds every mask at once)."""

    image_path: Path
    mask: MaskSource
    class_name: str = ""
    verdict: str = "product"


def items_from_store(store: Any, class_name: str | None = None) -> list[BatchItem]:
    """The store's images as batch items: product images (of `class_name` when given) with their
    reviewed mask (the user's edit, else the filter's); others come along to be reported as skipped."""
    items = []
    for entry in store.images():
        if class_name is not None and class_name not in entry.classes:
            continue
        primary = class_name or max(entry.classes, key=entry.classes.get, default="")
        items.append(
            BatchItem(
                entry.path,
                lambda size, image_id=entry.image_id: store.mask_for_review(image_id, size),
                primary,
                entry.verdict or "not filtered",
            )
        )
    return items


def _resolve_mask(item: BatchItem) -> np.ndarray:
    if isinstance(item.mask, np.ndarray):
        return item.mask
    if isinstance(item.mask, Path):
        return load_mask(item.mask)
    from engine.imaging.read import open_image

    with open_image(item.image_path) as image:
        width, height = image.size
        if int(image.getexif().get(0x0112, 1) or 1) in (5, 6, 7, 8):  # rotated a quarter turn
            width, height = height, width
    mask = item.mask((width, height))
    if mask is None:
        raise EngineError(f"{item.image_path.name}: no mask (run the filter or draw one)")
    return mask


@dataclass
class BatchReport:
    seed: int
    written: list[Path] = field(default_factory=list)
    already_done: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    fidelity: dict[Path, FidelityReport] = field(default_factory=dict)  # per written file


class _ItemContext:
    """Maps one image's step progress into the batch's overall progress; shares the cancel flag."""

    def __init__(self, ctx: JobContext | None, index: int, count: int, name: str):
        self.ctx, self.index, self.count, self.name = ctx, index, count, name

    @property
    def cancelled(self) -> bool:
        return self.ctx is not None and self.ctx.cancelled

    def check_cancelled(self) -> None:
        if self.ctx is not None:
            self.ctx.check_cancelled()

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        if self.ctx is not None:
            fraction = done / total if total else 0.0
            text = f"{self.index + 1}/{self.count} {self.name}" + (f": {message}" if message else "")
            self.ctx.progress(self.index + min(fraction, 1.0), self.count, text)


def best_variants(variants: list[Variant]) -> list[Variant]:
    """The variant with the best fidelity (grade first, then figures; the first on a tie), as a list."""
    measured = [v for v in variants if v.fidelity is not None]
    return [min(measured, key=lambda v: v.fidelity.score)] if measured else variants[:1]


def already_enhanced(image_path: Path, out_dir: Path) -> bool:
    return out_dir.is_dir() and any(out_dir.glob(f"{image_path.stem}_enh_*.png"))


def enhance_batch(
    items: Iterable[BatchItem],
    recipe: EnhanceRecipe,
    registry: Any,
    out_dir: Path | str,
    ctx: JobContext | None = None,
    class_name: str | None = None,
    keep_best: bool = False,
) -> BatchReport:
    """Enhance every `product` item (of `class_name` when given) into `out_dir`, one variant set each;
    with `keep_best`, only the variant whose product stayed truest (engine/diffusion/fidelity.py)."""
    recipe.validate()
    out_dir = Path(out_dir)
    chosen: list[BatchItem] = []
    report = BatchReport(seed=recipe.seed if recipe.seed is not None else random.randrange(2**32))
    recipe = replace(recipe, seed=report.seed)  # one seed for the whole batch: reproducible per image
    if out_dir.is_dir():
        recover_staged(out_dir)  # a batch killed while saving: its last image gets all variants or none
    for item in items:
        if item.verdict != "product":
            report.skipped.append((item.image_path, f"verdict {item.verdict}"))
        elif class_name is not None and item.class_name != class_name:
            report.skipped.append((item.image_path, f"class {item.class_name or 'none'}"))
        elif already_enhanced(item.image_path, out_dir):
            report.already_done.append(item.image_path)
        else:
            chosen.append(item)
    for index, item in enumerate(chosen):
        if ctx is not None:
            ctx.check_cancelled()
            ctx.progress(index, len(chosen), f"{index + 1}/{len(chosen)} {item.image_path.name}")
        item_ctx = _ItemContext(ctx, index, len(chosen), item.image_path.name)
        try:
            mask = _resolve_mask(item)
            result = enhance(item.image_path, mask, recipe, registry, item_ctx, item.class_name)
            item_ctx.check_cancelled()
            chosen = best_variants(result.variants) if keep_best else result.variants
            paths = save_variants(result, out_dir, variants=chosen)  # all chosen variants, or none
            report.written += paths
            for path, variant in zip(paths, chosen, strict=True):
                if variant.fidelity is not None:
                    report.fidelity[path] = variant.fidelity
        except (JobCancelled, ModelError):
            raise  # the batch stops; what is written stays, and a rerun resumes after it
        except EngineError as error:
            report.failed.append((item.image_path, str(error)))
    if ctx is not None:
        ctx.progress(len(chosen), len(chosen), "done")
    return report
