"""SAM on the canvas: asks the engine to embed the image under review (the canvas says so meanwhile) and
the next one ahead of the user, and turns the prompt session's changes into SAM jobs whose masks replace
the document's mask. The prompt itself lives in engine/segment/prompts.PromptSession.

Stale results are dropped: a result carries its image and prompt-session generation, and the engine's
latest-wins keys cancel a prediction still waiting when a newer click comes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from shiboken6 import isValid

from engine.api import Failed, Outcome, SamImage, SamPrompt, SamResult, Succeeded
from engine.project.document import ReviewImage, ShootDocument
from engine.segment.prompts import PromptSession
from gui.bridge import EngineBridge
from gui.review.mask_canvas import MaskCanvas


class SamController(QObject):
    message = Signal(str)  # for the status bar
    result_applied = Signal()
    embedding_ready = Signal(str)  # an image's SAM embedding is in the cache: a click there is instant

    def __init__(
        self,
        bridge: EngineBridge,
        document: ShootDocument,
        prompts: PromptSession,
        canvas: MaskCanvas,
        browse_rows: Callable[[], list[int]],
        defer: Callable[[str, Callable[[], None]], None] | None = None,
    ):
        super().__init__(canvas)
        self.bridge, self.document, self.prompts, self.canvas = bridge, document, prompts, canvas
        self.browse_rows = browse_rows  # the document rows in the browser's current order
        # Loading SAM (torch and a 375 MB checkpoint) waits for the first screen of thumbnails.
        self.defer = defer or (lambda _key, fn: fn())
        self.embedded_image: str | None = None  # the image whose embedding SAM holds
        self.ready_images: set[str] = set()  # embedded ahead (for the browser to show)
        self.embedding_ready.connect(self.ready_images.add)
        self._applying = False
        self.problem = bridge.engine.model_problem("sam")
        canvas.prompt_point.connect(self.add_point)
        canvas.prompt_box.connect(self.set_box)
        canvas.prompt_finished.connect(prompts.end)
        prompts.changed.connect(self._prompt_changed)
        document.folder_opened.connect(self._folder_opened)
        document.review_changed.connect(self._review_changed)
        document.mask_committed.connect(self._mask_committed)

    def refresh_problem(self) -> None:
        """After the models changed: `problem` says why SAM cannot run, or is None."""
        self.problem = self.bridge.engine.model_problem("sam")

    # -- embedding ---------------------------------------------------------------------------
    def _folder_opened(self, folder: Path) -> None:
        self.ready_images.clear()
        if not self.problem:
            engine = self.bridge.engine
            self.defer(
                "sam", lambda: self.bridge.submit(engine.load_sam(folder), on_done=self._loaded, owner=self)
            )

    def _loaded(self, outcome: Outcome) -> None:
        if isinstance(outcome, Failed):
            self.message.emit(f"SAM could not be loaded: {outcome.message}")

    def _review_changed(self, review: ReviewImage | None) -> None:
        self.prompts.end()
        self.embedded_image = None
        if review is None or self.problem or self.document.folder is None:
            return
        self.canvas.set_busy("Computing the SAM embedding…")
        job = self.bridge.engine.embed(self._sam_image(review))
        self.bridge.submit(job, on_done=lambda outcome: self._embedded(outcome, review), owner=self)

    def _sam_image(self, review: ReviewImage) -> SamImage:
        assert self.document.folder is not None
        return SamImage(self.document.folder, review.image_id, review.rgb)

    def _embedded(self, outcome: Outcome, review: ReviewImage) -> None:
        if self.document.review is not review:
            return  # the user moved on; that image's embedding is cached anyway
        self.canvas.set_busy("")
        if isinstance(outcome, Succeeded):
            self.embedded_image = review.image_id
            self.embedding_ready.emit(review.image_id)
            self._prefetch(review.row)
        elif isinstance(outcome, Failed):
            self.message.emit(f"SAM failed: {outcome.message}")

    def _prefetch(self, row: int) -> None:
        """Embed the folder's images ahead at idle priority in the browser's order (its sort and filter):
        this one, those after it, then those before it (a row the filter hides first, then that order)."""
        store, folder = self.document.store, self.document.folder
        if store is None or folder is None:
            return
        order = self.browse_rows()
        if row not in order:
            order = [row, *order]
        images = self.document.images
        items = [(images[r].image_id, images[r].path) for r in order]
        ready = self.embedding_ready

        def on_ready(image_id: str, path: Path) -> None:  # engine thread: a queued signal
            if isValid(self):
                ready.emit(image_id)

        self.bridge.submit(
            self.bridge.engine.embed_ahead(folder, items, order.index(row), on_ready), owner=self
        )

    # -- prompts -----------------------------------------------------------------------------
    def add_point(self, point: tuple[float, float, bool]) -> None:
        if self._can_prompt():
            self.prompts.add_point(point, self.document.review.mask)

    def set_box(self, box: tuple[float, float, float, float]) -> None:
        if self._can_prompt():
            self.prompts.set_box(box, self.document.review.mask)

    def _can_prompt(self) -> bool:
        if self.problem:
            self.message.emit(self.problem)
            return False
        return self.document.review is not None and self.document.folder is not None

    def _prompt_changed(self) -> None:
        self.canvas.update()  # the prompt's points
        review, prompts = self.document.review, self.prompts
        if review is None or not prompts.active:
            return
        request = SamPrompt(self._sam_image(review), prompts.base, prompts.prompt, prompts.generation)
        self.bridge.submit(self.bridge.engine.predict(request), on_done=self._predicted, owner=self)

    def _predicted(self, outcome: Outcome) -> None:
        if isinstance(outcome, Failed):
            self.message.emit(f"SAM failed: {outcome.message}")
            return
        if not isinstance(outcome, Succeeded):
            return
        result: SamResult = outcome.value
        review = self.document.review
        # Latest wins: drop results for another image or an ended session.
        if review is None or review.image_id != result.image_id or not self.prompts.active:
            return
        if result.generation != self.prompts.generation:
            return
        self._applying = True
        try:
            self.document.replace_mask(result.mask, "SAM")
        finally:
            self._applying = False
        self.result_applied.emit()

    def _mask_committed(self, review: ReviewImage) -> None:
        if not self._applying:
            self.prompts.end()  # painted or undone by hand: the next click starts a new session

    def end_session(self) -> None:
        self.prompts.end()
