"""The one step callback every diffusers call of the app passes as `callback_on_step_end`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.runtime.jobs import JobContext


class StepCallback:
    """Reports each finished step to `on_step(step)` and, once the job is cancelled, sets diffusers'
    own interrupt flag so the loop skips the remaining steps.

    diffusers still decodes after an interrupt, so the caller must check the job's cancellation after
    the pipeline returns and drop that image."""

    def __init__(self, ctx: JobContext | None, on_step: Callable[[int], None] | None = None):
        self.ctx = ctx
        self.on_step = on_step

    def __call__(self, pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
        if self.on_step is not None:
            self.on_step(step)
        if self.ctx is not None and self.ctx.cancelled:
            pipe._interrupt = True
        return tensors
