"""The review desk's SAM jobs of the `Engine` (engine/api/engine.py): loading SAM, embedding the image
under review and the ones ahead of the user, a click's or a box's mask, and "Select: NAME".

`Engine` inherits `SamJobs`; the mixin uses the engine's stores, registry, worker, precision, lock,
SAM sessions (`_sam`) and embed-ahead plan (`_ahead`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.api.requests import SamImage, SamPrompt, SelectRequest, SelectResult
from engine.runtime.jobs import Job, JobContext, Priority
from engine.segment.prefetch import cache_has_room
from engine.segment.prompts import SamResult, apply_prompt


class SamJobs:
    """Job factories for SAM on the review desk (a mixin of `Engine`)."""

    def _sam_session(self, folder: Path) -> Any:
        from engine.segment.session import SamSession

        store = self.store(folder)
        registry = self.registry
        with self._lock:
            session = self._sam.get(store.embeddings.folder)
        if session is None:
            session = SamSession(registry, store.embeddings, self.precision)
            with self._lock:
                self._sam[store.embeddings.folder] = session
        return session

    def load_sam(self, folder: Path) -> Job:
        """Load SAM ahead of the first embedding (on opening a folder), so a click only pays for SAM."""

        def run(ctx: JobContext) -> None:
            ctx.progress(0, None, "loading SAM")
            self._sam_session(folder).ready_for_prompts()  # off the first click
            # A full garbage collection holds the GIL for 0.2-0.4 s once torch and Qt are loaded, and an
            # automatic one can land in the middle of an embedding, freezing the UI thread: move what
            # is loaded now (modules, weights) out of the collector's sight.
            gc.freeze()

        # Interactive, so it runs before the first embedding (which is interactive too).
        return Job(run, name="Loading SAM", priority=Priority.INTERACTIVE, key="sam-load")

    def embed(self, image: SamImage) -> Job:
        """Make `image` SAM's current image (its embedding from the disk cache when there); the value
        says whether it came from the cache."""

        def run(ctx: JobContext) -> bool:
            ctx.progress(0, None, "loading SAM")
            session = self._sam_session(image.folder)
            ctx.check_cancelled()
            ctx.progress(0, None, "computing the image embedding")
            session.set_image(image.image_id, image.rgb)
            return session.last_embed_from_cache

        return Job(run, name="SAM embedding", priority=Priority.INTERACTIVE, key="sam-embed")

    def embed_ahead(
        self,
        folder: Path,
        items: list[tuple[str | None, Path]],
        start: int = 0,
        on_ready: Callable[[str, Path], None] | None = None,
    ) -> Job:
        """Embed `items` (image id if known, path) of `folder` into the SAM cache in browse order from
        `start`, at idle priority, below 90% of the cache's cap; `on_ready(image_id, path)` (engine
        thread) for each image whose embedding is in the cache. A newer plan replaces this one; any other
        job makes it yield and carry on afterwards. The job's value: how many images it embedded."""
        return self._embed_ahead_job(self._ahead.plan(folder, items, start, on_ready))

    def embed_ahead_pending(self) -> list[tuple[str | None, Path]]:
        """The images the embed-ahead plan has still to do, in order."""
        return self._ahead.pending()

    def _embed_ahead_job(self, generation: int) -> Job:
        ahead = self._ahead

        def run(ctx: JobContext) -> int:
            from engine.imaging.read import ImageReadError, read_image

            folder, on_ready, done = ahead.folder, ahead.on_ready, 0
            session = self._sam_session(folder)
            cache = self.store(folder).embeddings
            while (item := ahead.take(generation)) is not None:
                image_id, path = item
                try:
                    ctx.check_cancelled()
                    image_id = image_id or self.store(folder).register(path)
                    if cache.get(image_id, session.model_key) is None:
                        if not cache_has_room(cache):
                            ahead.put_back(generation, item)
                            return done  # the cache is nearly full: leave room for visited images
                        session.embed(image_id, read_image(path).rgb, ctx.check_cancelled)
                        done += 1
                except (OSError, ImageReadError):
                    continue  # unreadable: the review desk will say so when it is opened
                except BaseException:
                    ahead.put_back(generation, item)
                    raise
                if on_ready is not None:
                    on_ready(image_id, path)
            return done

        job = Job(run, name="SAM embed ahead", priority=Priority.IDLE, key="sam-embed-ahead")
        ahead.job = job
        return job

    def _yield_embed_ahead(self) -> None:
        running = self._ahead.job
        if running is None or running.done or self._worker.current_job is not running:
            return
        running.cancel("yield")  # stops between encoder blocks; its image goes back to the queue
        self._worker.submit(self._embed_ahead_job(self._ahead.generation))  # after the waiting jobs

    def predict(self, request: SamPrompt) -> Job:
        """SAM's mask for a prompt, combined with the session's base mask → `SamResult`."""

        def run(ctx: JobContext) -> SamResult:
            image = request.image
            session = self._sam_session(image.folder)
            ctx.check_cancelled()
            mask, score = apply_prompt(
                session, image.image_id, image.rgb, request.base, request.prompt, request.generation
            )
            return SamResult(image.image_id, request.generation, mask, score, session.last_embed_from_cache)

        return Job(run, name="SAM", priority=Priority.INTERACTIVE, key="sam-predict")

    def select_by_name(self, request: SelectRequest) -> Job:
        """ "Select: NAME": the detector's best box for the text, masked by SAM → `SelectResult` (its mask
        None when nothing is found). A name of the shoot's classes uses that class's prompts."""

        def run(ctx: JobContext) -> SelectResult:
            from engine.filter.classes import ClassesError, load_shoot_classes
            from engine.filter.grounded import select_by_name

            image = request.image
            try:
                classes = load_shoot_classes(self.store(image.folder).root).select([request.text])
            except ClassesError:
                return SelectResult(image.image_id, request.text, None)  # blank text: nothing to find
            session = self._sam_session(image.folder)
            ctx.progress(0, None, "loading the detector")
            detector = self.registry.detector()
            ctx.check_cancelled()
            ctx.progress(0, None, f"looking for {request.text}")
            found = select_by_name(
                detector, session, image.image_id, image.rgb, classes, request.base, request.threshold
            )
            if found is None:
                return SelectResult(image.image_id, request.text, None)
            return SelectResult(image.image_id, request.text, *found)

        return Job(run, name=f"Select {request.text}", priority=Priority.INTERACTIVE, key="sam-select")
