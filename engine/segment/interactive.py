"""SAM for the review desk: jobs that embed the image under review, prefetch the next one, and turn the
user's clicks and boxes into a new mask. Runs on the engine thread; torch loads on the first job.

Prompt sessions: the clicks since the last other edit form one SAM prompt. With at least one positive
point or a box, SAM's mask is added to the mask as it was when the session began; a session that starts
with a negative click (Alt / right button) instead cuts the region SAM finds there out of that mask.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.models.config import ModelsConfig
from engine.models.errors import ModelError
from engine.models.locate import resolve
from engine.runtime.jobs import Job, JobContext, Priority


@dataclass(frozen=True)
class Prompt:
    """Points (x, y, positive) and an optional box (x0, y0, x1, y1), in image pixels."""

    points: tuple[tuple[float, float, bool], ...] = ()
    box: tuple[float, float, float, float] | None = None

    @property
    def subtracts(self) -> bool:
        return self.box is None and bool(self.points) and not any(p for _, _, p in self.points)


@dataclass(frozen=True)
class SamResult:
    image_id: str
    mask: np.ndarray  # HxW uint8: the session's base mask combined with SAM's mask
    score: float
    from_cache: bool


def missing_sam(config: ModelsConfig) -> str | None:
    """None when SAM's weights are found, else a message naming the role and the fix (no torch import)."""
    try:
        resolve(config.spec("sam"), want_dir=False)
    except ModelError as error:
        return str(error)
    return None


class ReviewSam:
    """One SamSession for the open folder, created on the engine thread on first use."""

    def __init__(self, config: ModelsConfig, device: str = "auto"):
        self.config = config
        self.device = device
        self._registry: Any = None
        self._session: Any = None
        self._cache_folder: Path | None = None

    def registry(self) -> Any:
        """The model registry (engine thread), shared with the product filter so SAM loads once."""
        from engine.models.registry import ModelRegistry

        if self._registry is None:
            self._registry = ModelRegistry(self.config, self.device)
        return self._registry

    def _session_for(self, store: Any) -> Any:
        from engine.segment.session import SamSession

        self.registry()
        if self._session is None or self._cache_folder != store.embeddings.folder:
            self._session = SamSession(self._registry, store.embeddings)
            self._cache_folder = store.embeddings.folder
        return self._session

    def load_job(self, store: Any) -> Job:
        """Load SAM ahead of the first embedding (on opening a folder), so a click only pays for SAM."""

        def run(ctx: JobContext) -> None:
            ctx.progress(0, None, "loading SAM")
            self._session_for(store)
            # A full garbage collection holds the GIL for 0.2-0.4 s once torch and Qt are loaded, and an
            # automatic one can land in the middle of an embedding, freezing the UI thread: move what
            # is loaded now (modules, weights) out of the collector's sight.
            gc.freeze()

        # Interactive, so it runs before the first embedding (which is interactive too).
        return Job(run, name="Loading SAM", priority=Priority.INTERACTIVE, key="review-sam-load")

    def embed_job(self, store: Any, image_id: str, rgb: np.ndarray) -> Job:
        """Make `image_id` the current SAM image (from the disk cache when it is there)."""

        def run(ctx: JobContext) -> bool:
            ctx.progress(0, None, "loading SAM")
            session = self._session_for(store)
            ctx.check_cancelled()
            ctx.progress(0, None, "computing the image embedding")
            session.set_image(image_id, rgb)
            return session.last_embed_from_cache

        return Job(run, name="SAM embedding", priority=Priority.INTERACTIVE, key="review-sam-embed")

    def prefetch_job(self, store: Any, image_id: str, path: Path) -> Job:
        """Embed the next image into the cache while the user works on this one (lowest priority)."""

        def run(ctx: JobContext) -> bool:
            from engine.imaging.read import read_image

            session = self._session_for(store)
            if store.embeddings.get(image_id, session.model_key) is not None:
                return True
            rgb = read_image(path).rgb
            ctx.check_cancelled()
            return session.embed(image_id, rgb)

        return Job(run, name="SAM prefetch", priority=Priority.BATCH, key="review-sam-prefetch")

    def predict_job(
        self, store: Any, image_id: str, rgb: np.ndarray, base: np.ndarray, prompt: Prompt
    ) -> Job:
        """SAM's mask for `prompt`, combined with `base` (HxW uint8) as the session rules say."""

        def run(ctx: JobContext) -> SamResult:
            session = self._session_for(store)
            session.set_image(image_id, rgb)
            ctx.check_cancelled()
            points = [(x, y) for x, y, _ in prompt.points] or None
            # A subtracting session asks SAM for the region under its clicks, then removes it.
            labels = [1 if (positive or prompt.subtracts) else 0 for _, _, positive in prompt.points] or None
            masks, scores, _ = session.predict(points=points, labels=labels, box=prompt.box, multimask=True)
            found = masks[0]
            if prompt.subtracts:
                combined = np.where(found, np.uint8(0), base)
            else:
                combined = np.where(found, np.uint8(255), base)
            return SamResult(
                image_id, combined.astype(np.uint8), float(scores[0]), session.last_embed_from_cache
            )

        return Job(run, name="SAM", priority=Priority.INTERACTIVE, key="review-sam-predict")
