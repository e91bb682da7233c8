"""The open shoot in memory: its images (verdict, flag), the image under review and its editable mask.

Plain Python with psygnal events, no Qt: the GUI listens to the events, tests drive the model directly.
Slow work (hashing, full-size decoding, PNG encoding) is in functions the caller runs off its UI thread:
`index_entries`/`index_shots` (engine/project/indexing.py), `load_review`, `save_review_mask`.
Everything that changes the document runs on one thread (the GUI's), so the events fire there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from psygnal import Signal

from engine.imaging.raw import pair_raw_jpeg
from engine.imaging.read import list_images, read_image
from engine.project import mask_ops
from engine.project.history import MaskHistory, MaskStep, StrokeRecorder
from engine.project.indexing import IndexBatch, index_entries, index_shots
from engine.project.mask_ops import BBox, Brush
from engine.project.masks import RegionLayer, load_region_layers, load_review_mask, save_review_mask
from engine.project.store import ImageEntry, ProjectStore
from engine.project.values import FLAGS, LABELS, RATINGS

MASK_KEY = "product"  # the one editable mask per image (the store keeps one edited mask per image)


@dataclass
class ShootImage:
    """One image of the shoot as the browser shows it. Fields beyond `path` arrive once it is indexed."""

    path: Path
    image_id: str | None = None
    verdict: str | None = None
    classes: dict[str, int] = field(default_factory=dict)
    flag: str | None = None
    has_edited_mask: bool = False
    reason: str | None = None
    companions: list[Path] = field(default_factory=list)  # the RAW of a RAW + JPEG pair, shown as one
    rating: int = 0  # stars 0..5
    label: str | None = None  # values.LABELS
    captured_at: str | None = None  # ISO 8601, for sorting by capture time

    def update_from(self, entry: ImageEntry) -> None:
        self.image_id = entry.image_id
        self.verdict = entry.verdict
        self.classes = dict(entry.classes)
        self.flag = entry.flag
        self.has_edited_mask = entry.has_edited_mask
        self.reason = entry.reason
        self.rating = entry.rating
        self.label = entry.label
        self.captured_at = entry.captured_at


@dataclass
class ReviewImage:
    """The image under review: full-size pixels, the editable mask, the filter's regions, the history."""

    row: int
    image_id: str
    path: Path
    rgb: np.ndarray  # HxWx3 uint8, upright
    mask: np.ndarray  # HxW uint8, 0..255 (soft edges allowed)
    mask_source: str  # edited | filter | empty
    regions: list[RegionLayer]
    history: MaskHistory = field(init=False)
    revision: int = 0  # bumps on every mask change; stale model results compare against it

    def __post_init__(self) -> None:
        self.history = MaskHistory(lambda key: self.mask)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def _resolved(path: Path, folder: Path, root: Path) -> Path:
    """`path.resolve()` for a file of `folder` (resolved: `root`) without a realpath per file, which
    cost ~40 ms for 2,000 files on the UI thread; links are still followed."""
    if path.parent != folder or path.is_symlink():
        return path.resolve()
    return root / path.name


def load_review(store: ProjectStore, row: int, path: Path, image_id: str | None = None) -> ReviewImage:
    """Decode the full image and its masks (slow: run it off the UI thread)."""
    loaded = read_image(path, store.raw_cache)
    image_id = image_id or store.register(path)
    mask, source = load_review_mask(store, image_id, loaded.size)
    regions = load_region_layers(store, image_id, loaded.size)
    return ReviewImage(row, image_id, path, loaded.rgb, mask, source, regions)


class ShootDocument:
    """The shoot folder open in the app."""

    folder_opened = Signal(object)  # Path
    folder_closed = Signal()
    entries_updated = Signal(object)  # list of rows whose verdict/flag/id changed
    decisions_changed = Signal(object)  # rows whose flag, stars or label the user changed (XMP to write)
    notes = Signal(object)  # list of one-line notes (XMP sidecars read while indexing) for the status bar
    review_changed = Signal(object)  # ReviewImage | None
    mask_changed = Signal(object)  # BBox | None (None: the whole mask)
    mask_committed = Signal(object)  # ReviewImage: a finished edit, time to autosave
    history_changed = Signal()

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.store: ProjectStore | None = None
        self.images: list[ShootImage] = []
        self.review: ReviewImage | None = None
        self._row_of: dict[Path, int] | None = {}  # resolved path -> row; None: not built yet
        self._owns_store = False
        self._stroke: StrokeRecorder | None = None
        self._stroke_brush: Brush | None = None
        self._stroke_last: tuple[float, float] | None = None

    # -- folders -----------------------------------------------------------------------------
    def open_folder(self, folder: Path, store: ProjectStore | None = None) -> None:
        """List the folder's images at once (no decoding, no hashing) with its project store (the
        engine's, shared with its jobs; without one the document opens and later closes its own)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise NotADirectoryError(f"Not a folder: {folder}")
        self.close()
        self._owns_store = store is None
        self.store = store or ProjectStore.open(folder)
        self.folder = folder
        shots = pair_raw_jpeg(list_images(folder))
        self.images = [ShootImage(path, companions=companions) for path, companions in shots]
        self._row_of = None  # built when the first index batch arrives, not on the UI thread's open
        self.folder_opened.emit(folder)

    def close(self) -> None:
        self.set_review(None)
        if self.store is not None and self._owns_store:
            self.store.close()
        was_open = self.folder is not None
        self.store, self.folder, self.images, self._row_of = None, None, [], {}
        if was_open:
            self.folder_closed.emit()

    def groups(self) -> list[tuple[Path, list[Path]]]:
        """(shown file, companion files) of every row, for `index_shots`."""
        return [(image.path, list(image.companions)) for image in self.images]

    def _rows_by_path(self) -> dict[Path, int]:
        if self._row_of is None:
            folder = self.folder
            root = folder.resolve()
            self._row_of = {_resolved(im.path, folder, root): row for row, im in enumerate(self.images)}
        return self._row_of

    def apply_index(self, entries: dict[Path, ImageEntry]) -> list[int]:
        """Merge what `index_entries` found; returns (and announces) the rows that changed."""
        if getattr(entries, "notes", None):
            self.notes.emit(list(entries.notes))
        rows = []
        for path, entry in entries.items():
            row = self._rows_by_path().get(Path(path).resolve())
            if row is not None:
                self.images[row].update_from(entry)
                rows.append(row)
        if rows:
            self.entries_updated.emit(rows)
        return rows

    def apply_verdicts(self, verdicts: dict) -> list[int]:
        """image_id → engine.verdict.Verdict (re-decided from stored scores): update the badges."""
        rows = []
        for row, image in enumerate(self.images):
            verdict = verdicts.get(image.image_id) if image.image_id else None
            if verdict is not None:
                image.verdict, image.classes, image.reason = (
                    verdict.verdict,
                    dict(verdict.classes),
                    verdict.reason,
                )
                rows.append(row)
        if rows:
            self.entries_updated.emit(rows)
        return rows

    def image_id(self, row: int) -> str:
        image = self.images[row]
        if image.image_id is None:
            assert self.store is not None
            image.image_id = self.store.register(image.path)
        return image.image_id

    def set_flag(self, rows: list[int], flag: str | None) -> None:
        """Pick / reject / unflag (Lightroom's P / X / U), saved at once."""
        if flag not in (*FLAGS, None):
            raise ValueError(f"flag must be one of {FLAGS} or None")
        assert self.store is not None
        for row in rows:
            self.store.set_flag(self.image_id(row), flag)
            self.images[row].flag = flag
        self.entries_updated.emit(list(rows))
        self.decisions_changed.emit(list(rows))

    def set_rating(self, rows: list[int], rating: int) -> None:
        """0-5 stars (Lightroom's 0-5 keys), saved at once."""
        if rating not in RATINGS:
            raise ValueError(f"a rating is 0 to 5 stars, not {rating!r}")
        assert self.store is not None
        for row in rows:
            self.store.set_rating(self.image_id(row), rating)
            self.images[row].rating = rating
        self.entries_updated.emit(list(rows))
        self.decisions_changed.emit(list(rows))

    def toggle_label(self, rows: list[int], label: str | None) -> None:
        """Lightroom's 6-9: set the colour label, or clear it where every chosen image already has it."""
        if label not in (*LABELS, None):
            raise ValueError(f"label must be one of {LABELS} or None")
        assert self.store is not None
        if label is not None and rows and all(self.images[row].label == label for row in rows):
            label = None
        for row in rows:
            self.store.set_label(self.image_id(row), label)
            self.images[row].label = label
        self.entries_updated.emit(list(rows))
        self.decisions_changed.emit(list(rows))

    # -- the image under review --------------------------------------------------------------
    def set_review(self, review: ReviewImage | None) -> None:
        self.cancel_stroke()
        self.review = review
        self.review_changed.emit(review)
        self.history_changed.emit()

    def _changed(self, bbox: BBox | None) -> None:
        assert self.review is not None
        self.review.revision += 1
        self.mask_changed.emit(bbox)

    def _committed(self) -> None:
        assert self.review is not None
        row = self.review.row
        if 0 <= row < len(self.images) and not self.images[row].has_edited_mask:
            self.images[row].has_edited_mask = True
            self.entries_updated.emit([row])
        self.mask_committed.emit(self.review)
        self.history_changed.emit()

    def begin_stroke(self, point: tuple[float, float], brush: Brush) -> None:
        """Start painting (or erasing) at `point` (x, y in image pixels)."""
        if self.review is None:
            return
        self.cancel_stroke()
        self._stroke = StrokeRecorder(MASK_KEY, self.review.mask, "erase" if brush.erase else "paint")
        self._stroke_brush = brush
        self._stroke_last = point
        self.stroke_to(point)

    def stroke_to(self, point: tuple[float, float]) -> BBox | None:
        if self._stroke is None or self.review is None:
            return None
        brush, start = self._stroke_brush, self._stroke_last
        bbox = mask_ops.segment_bbox(start, point, brush.radius, self.review.mask.shape)
        self._stroke.before_change(bbox)
        mask_ops.paint_segment(self.review.mask, start, point, brush)
        self._stroke_last = point
        if bbox is not None:
            self._changed(bbox)
        return bbox

    def end_stroke(self) -> MaskStep | None:
        if self._stroke is None or self.review is None:
            return None
        step = self._stroke.finish()
        self._stroke = None
        if step is not None:
            self.review.history.push(step)
            self._committed()
        return step

    def cancel_stroke(self) -> None:
        if self._stroke is not None and self.review is not None:
            bbox = self._stroke.bbox
            self._stroke.abort()
            self._changed(bbox)
        self._stroke = None

    @property
    def stroke_active(self) -> bool:
        return self._stroke is not None

    def replace_mask(self, new_mask: np.ndarray, label: str) -> MaskStep | None:
        """Replace the mask in one undoable step (a mask operation or a SAM result)."""
        if self.review is None:
            return None
        self.cancel_stroke()
        step = self.review.history.replace(MASK_KEY, np.asarray(new_mask, np.uint8), label)
        if step is not None:
            self._changed(step.bbox)
            self._committed()
        return step

    def apply(self, label: str, operation: Callable[[np.ndarray], np.ndarray]) -> MaskStep | None:
        """`operation(mask) -> new mask`, e.g. `lambda m: mask_ops.grow(m, 10)`, as one step."""
        if self.review is None:
            return None
        return self.replace_mask(operation(self.review.mask), label)

    def undo(self) -> MaskStep | None:
        return self._step(self.review.history.undo if self.review else None)

    def redo(self) -> MaskStep | None:
        return self._step(self.review.history.redo if self.review else None)

    def _step(self, action: Callable[[], MaskStep | None] | None) -> MaskStep | None:
        if action is None:
            return None
        self.cancel_stroke()
        step = action()
        if step is not None:
            self._changed(step.bbox)
            self._committed()
        return step

    def save_snapshot(self) -> tuple[str, np.ndarray] | None:
        """(image id, a copy of the mask) to save off the UI thread with `save_review_mask`."""
        if self.review is None:
            return None
        return self.review.image_id, self.review.mask.copy()


__all__ = [
    "MASK_KEY",
    "IndexBatch",
    "RegionLayer",
    "ReviewImage",
    "ShootDocument",
    "ShootImage",
    "index_entries",
    "index_shots",
    "load_review",
    "save_review_mask",
]
