"""The one diffusers step callback: counts steps, and asks diffusers to stop once the job is cancelled."""

from __future__ import annotations

from engine.diffusion.callbacks import StepCallback
from engine.runtime.jobs import Job, JobContext


class Pipe:
    _interrupt = False


def test_steps_are_reported_and_a_cancel_interrupts_the_loop():
    job = Job(lambda ctx: None)
    steps, pipe = [], Pipe()
    callback = StepCallback(JobContext(job), steps.append)
    tensors = {"latents": object()}
    assert callback(pipe, 0, 999, tensors) is tensors and not pipe._interrupt
    job.cancel()
    callback(pipe, 1, 998, tensors)
    assert steps == [0, 1] and pipe._interrupt
    assert StepCallback(None)(Pipe(), 0, 1, tensors) is tensors  # no job: nothing to report or stop
