"""SAM on the canvas: embeds the image under review (busy state while it runs), prefetches the next
image, and turns prompt clicks into mask updates through engine jobs. Stale results are dropped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.models.config import ModelsConfig
from engine.project.document import ReviewImage, ShootDocument
from engine.runtime.jobs import Failed, Job, Succeeded
from engine.segment.interactive import Prompt, ReviewSam, missing_sam
from gui.bridge import EngineBridge
from gui.review.mask_canvas import MaskCanvas


class SamController(QObject):
    message = Signal(str)  # for the status bar
    result_applied = Signal()

    def __init__(
        self,
        bridge: EngineBridge,
        document: ShootDocument,
        canvas: MaskCanvas,
        config: ModelsConfig,
        next_image: Callable[[int], tuple[str | None, Path] | None],
    ):
        super().__init__(canvas)
        self.bridge = bridge
        self.document = document
        self.canvas = canvas
        self.next_image = next_image
        self._handlers: dict[int, Callable[[Job], None]] = {}
        self._points: list[tuple[float, float, bool]] = []
        self._box: tuple[float, float, float, float] | None = None
        self._base = None
        self._applying = False
        self.embedded_image: str | None = None
        self.set_config(config)
        bridge.job_finished.connect(self._job_finished)
        canvas.prompt_point.connect(self.add_point)
        canvas.prompt_box.connect(self.set_box)
        document.folder_opened.connect(self._folder_opened)
        document.review_changed.connect(self._review_changed)
        document.mask_committed.connect(self._mask_committed)

    def set_config(self, config: ModelsConfig) -> None:
        """(Re)point at the models; `problem` says why SAM cannot run, or is None."""
        self.sam = ReviewSam(config)
        self.problem = missing_sam(config)

    # -- jobs --------------------------------------------------------------------------------
    def _submit(self, job: Job, handler: Callable[[Job], None]) -> None:
        self._handlers[job.id] = handler
        self.bridge.submit(job)

    def _job_finished(self, job: Job) -> None:
        handler = self._handlers.pop(job.id, None)
        if handler is not None:
            handler(job)

    def _folder_opened(self, folder: Path) -> None:
        if not self.problem and self.document.store is not None:
            self._submit(self.sam.load_job(self.document.store), self._loaded)

    def _loaded(self, job: Job) -> None:
        if isinstance(job.outcome, Failed):
            self.message.emit(f"SAM could not be loaded: {job.outcome.message}")

    def _review_changed(self, review: ReviewImage | None) -> None:
        self.end_session()
        self.embedded_image = None
        if review is None or self.problem or self.document.store is None:
            return
        self.canvas.set_busy("Computing the SAM embedding…")
        job = self.sam.embed_job(self.document.store, review.image_id, review.rgb)
        self._submit(job, lambda finished: self._embedded(finished, review))

    def _embedded(self, job: Job, review: ReviewImage) -> None:
        if self.document.review is not review:
            return  # the user moved on; that image's embedding is cached anyway
        self.canvas.set_busy("")
        if isinstance(job.outcome, Succeeded):
            self.embedded_image = review.image_id
            self._prefetch(review.row)
        elif isinstance(job.outcome, Failed):
            self.message.emit(f"SAM failed: {job.outcome.message}")

    def _prefetch(self, row: int) -> None:
        following = self.next_image(row)
        store = self.document.store
        if following is None or store is None:
            return
        image_id, path = following
        try:
            image_id = image_id or store.register(path)
        except OSError:
            return
        self._submit(self.sam.prefetch_job(store, image_id, path), lambda job: None)

    # -- prompts -----------------------------------------------------------------------------
    def add_point(self, point: tuple[float, float, bool]) -> None:
        if self._start():
            self._points.append(point)
            self._predict()

    def set_box(self, box: tuple[float, float, float, float]) -> None:
        if self._start():
            self._box = box
            self._predict()

    def _start(self) -> bool:
        review = self.document.review
        if self.problem:
            self.message.emit(self.problem)
            return False
        if review is None or self.document.store is None:
            return False
        if self._base is None:  # a new prompt session starts from the mask as it is now
            self._base = review.mask.copy()
        return True

    def _predict(self) -> None:
        review = self.document.review
        self.canvas.prompts = list(self._points)
        self.canvas.update()
        prompt = Prompt(tuple(self._points), self._box)
        job = self.sam.predict_job(self.document.store, review.image_id, review.rgb, self._base, prompt)
        session = id(self._base)
        self._submit(job, lambda finished: self._predicted(finished, review, session))

    def _predicted(self, job: Job, review: ReviewImage, session: int) -> None:
        # Latest wins: drop results for another image or an ended session.
        if self.document.review is not review or self._base is None or id(self._base) != session:
            return
        if isinstance(job.outcome, Failed):
            self.message.emit(f"SAM failed: {job.outcome.message}")
            return
        if not isinstance(job.outcome, Succeeded):
            return
        self._applying = True
        try:
            self.document.replace_mask(job.outcome.value.mask, "SAM")
        finally:
            self._applying = False
        self.result_applied.emit()

    def _mask_committed(self, review: ReviewImage) -> None:
        if not self._applying:
            self.end_session()  # painted or undone by hand: the next click starts a new session

    def end_session(self) -> None:
        self._points.clear()
        self._box = None
        self._base = None
        if self.canvas.prompts:
            self.canvas.prompts = []
            self.canvas.update()
