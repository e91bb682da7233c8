"""Swapping a pipeline's scheduler by A1111 sampler name, always from the model's own noise schedule."""

from __future__ import annotations

import pytest
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler

from engine.diffusion.samplers import DEFAULT_SAMPLER, scheduler_for, set_scheduler
from engine.models.errors import ModelError


class Pipe:
    """Just what the swap reads and writes: a pipeline's `scheduler`."""

    def __init__(self):
        self.scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")


def test_each_swap_starts_from_the_models_schedule_and_default_gives_it_back():
    pipe = Pipe()
    model = pipe.scheduler
    set_scheduler(pipe, "Euler a")
    assert isinstance(pipe.scheduler, EulerAncestralDiscreteScheduler)
    set_scheduler(pipe, "DPM++ 2M Karras")
    scheduler = pipe.scheduler
    assert isinstance(scheduler, DPMSolverMultistepScheduler) and scheduler.config.use_karras_sigmas
    assert scheduler.config.beta_end == model.config.beta_end  # the model's schedule, not Euler a's
    assert scheduler_for(pipe, DEFAULT_SAMPLER) == (model, "DDIM")
    with pytest.raises(ModelError, match="Unknown scheduler"):
        scheduler_for(pipe, "Fancy 3000")
