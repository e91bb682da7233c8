"""Sampler names as the AUTOMATIC1111 web UI writes them → diffusers scheduler classes (+ options), and
the one way the app swaps a pipeline's scheduler.

The table is free of torch/diffusers imports so that the CLI and the GUI can list the choices without
loading them.
"""

from __future__ import annotations

from typing import Any

SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "Euler": ("EulerDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {}),
    "DPM++ 2M Karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "DDIM": ("DDIMScheduler", {}),
    "PNDM": ("PNDMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "LMS": ("LMSDiscreteScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
}
DEFAULT_SAMPLER = "default"  # the model's own scheduler, as its folder configures it


def scheduler_for(pipe: Any, name: str) -> tuple[Any, str]:
    """A scheduler for `name` built from the model's own noise schedule, and the sampler name to record.

    The model's scheduler is remembered on the pipeline the first time, so later swaps start from it
    and not from the previous choice."""
    import diffusers

    from engine.models.errors import ModelError

    base = getattr(pipe, "_shootstudio_model_scheduler", None) or pipe.scheduler
    pipe._shootstudio_model_scheduler = base
    if name == DEFAULT_SAMPLER:
        return base, type(base).__name__.removesuffix("Scheduler")
    if name not in SCHEDULERS:
        raise ModelError(f"Unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}.")
    class_name, options = SCHEDULERS[name]
    return getattr(diffusers, class_name).from_config(base.config, **options), name


def set_scheduler(pipe: Any, name: str) -> None:
    """Swap `pipe`'s scheduler for `name`, keeping the model's noise schedule."""
    pipe.scheduler = scheduler_for(pipe, name)[0]
