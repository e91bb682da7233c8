"""The SAM prompt session of the review desk: the clicks and the box since the last other edit.

Plain Python with psygnal events, no Qt and no torch: the canvas draws the points, the GUI asks the engine
for SAM's mask whenever the prompt changes, and `combine` merges that mask into the session's base.

With at least one positive point or a box, SAM's mask is added to the mask as it was when the session
began; a session that starts with a negative click (Alt / right button) instead cuts the region SAM finds
there out of that mask. Each new session has a new `generation`, so a result for an ended one is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import Signal

Point = tuple[float, float, bool]  # x, y in image pixels; positive?
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels


@dataclass(frozen=True)
class Prompt:
    """Points (x, y, positive) and an optional box (x0, y0, x1, y1), in image pixels."""

    points: tuple[Point, ...] = ()
    box: Box | None = None

    @property
    def subtracts(self) -> bool:
        """A session of negative clicks only: cut what SAM finds under them."""
        return self.box is None and bool(self.points) and not any(p for _, _, p in self.points)

    def sam_inputs(self) -> tuple[list[tuple[float, float]] | None, list[int] | None, Box | None]:
        """(points, labels, box) for SAM; a subtracting session asks for the region under its clicks."""
        if not self.points:
            return None, None, self.box
        labels = [1 if (positive or self.subtracts) else 0 for _, _, positive in self.points]
        return [(x, y) for x, y, _ in self.points], labels, self.box


def combine(base: np.ndarray, found: np.ndarray, prompt: Prompt) -> np.ndarray:
    """`base` (HxW uint8) with SAM's mask `found` (HxW bool) added, or cut out for a subtracting prompt."""
    value = np.uint8(0) if prompt.subtracts else np.uint8(255)
    return np.where(found, value, base).astype(np.uint8)


class PromptSession:
    """The prompt being built on the image under review; one session is one undo step per SAM result."""

    changed = Signal()  # points or box changed (and a prediction is due) or the session ended

    def __init__(self) -> None:
        self.points: list[Point] = []
        self.box: Box | None = None
        self.base: np.ndarray | None = None  # the mask when the session began (HxW uint8)
        self.generation = 0

    @property
    def active(self) -> bool:
        return self.base is not None

    @property
    def prompt(self) -> Prompt:
        return Prompt(tuple(self.points), self.box)

    def add_point(self, point: Point, mask: np.ndarray) -> None:
        """A click; `mask` is the current mask (copied as the base when this starts a session)."""
        self._begin(mask)
        self.points.append(point)
        self.changed.emit()

    def set_box(self, box: Box, mask: np.ndarray) -> None:
        self._begin(mask)
        self.box = box
        self.changed.emit()

    def end(self) -> None:
        """Keep the result; the next click starts a new session from the mask as it is then."""
        was_active = self.active or bool(self.points)
        self.points, self.box, self.base = [], None, None
        self.generation += 1
        if was_active:
            self.changed.emit()

    def _begin(self, mask: np.ndarray) -> None:
        if self.base is None:
            self.base = mask.copy()


@dataclass(frozen=True)
class SamResult:
    """What a SAM prompt job returns: the new mask for one image and one prompt session."""

    image_id: str
    generation: int  # the prompt session's; the GUI drops a result of a session that has ended
    mask: np.ndarray  # HxW uint8: the session's base mask combined with SAM's mask
    score: float
    from_cache: bool  # the image's embedding came from the disk cache


def apply_prompt(
    session: Any,
    image_id: str,
    rgb: np.ndarray,
    base: np.ndarray,
    prompt: Prompt,
    generation: int | None = None,
):
    """SAM's best mask for `prompt` on the image (engine/segment/session.SamSession), combined with
    `base`: (HxW uint8 mask, SAM's score). Runs on the engine thread.

    As SAM's own demos do: a first single click asks for three candidates and keeps the best; a click that
    adds to a session (same `generation`) feeds the previous click's low-res mask back and asks for one
    mask, as does a box. Only the chosen mask is upscaled, only where it is (SamSession.predict_click)."""
    session.set_image(image_id, rgb)
    points, labels, box = prompt.sam_inputs()
    count = len(points or ()) + (box is not None)
    previous = None
    if generation is not None and count > 1:
        previous = session.refine_input((image_id, generation, count - 1))
    found = session.predict_click(
        points=points, labels=labels, box=box, mask_input=previous, multimask=count == 1 and box is None
    )
    if generation is not None:
        session.remember((image_id, generation, count), found.low_res)
    value = 0 if prompt.subtracts else 255
    return found.paste(base.astype(np.uint8, copy=False), value), found.score
