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
    "PLMS": ("PNDMScheduler", {}),  # SD's PNDM skips the Runge-Kutta warm-up: PLMS, as A1111 names it
    "UniPC": ("UniPCMultistepScheduler", {}),
    "LMS": ("LMSDiscreteScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
}
DEFAULT_SAMPLER = "default"  # the model's own scheduler, as its folder configures it
ALIASES = {"PNDM": "PLMS"}  # names older recipes stored

# How A1111 1.10 writes each choice: `Sampler` and `Schedule type` (1.9+ split the schedule off the name,
# and a bare "DPM++ 2M" there means Karras). k-diffusion samplers on the model's own discrete sigmas are
# "Uniform"; DDIM, PLMS and UniPC step over timesteps and ignore the schedule type ("Automatic").
A1111_NAMES: dict[str, tuple[str, str]] = {
    "Euler a": ("Euler a", "Uniform"),
    "Euler": ("Euler", "Uniform"),
    "DPM++ 2M": ("DPM++ 2M", "Uniform"),
    "DPM++ 2M Karras": ("DPM++ 2M", "Karras"),
    "DDIM": ("DDIM", "Automatic"),
    "PLMS": ("PLMS", "Automatic"),
    "UniPC": ("UniPC", "Automatic"),
    "LMS": ("LMS", "Uniform"),
    "Heun": ("Heun", "Uniform"),
}


def a1111_sampler(name: str) -> tuple[str, str]:
    """(`Sampler`, `Schedule type`) as A1111 writes them for one of our sampler names."""
    return A1111_NAMES.get(ALIASES.get(name, name), (name, "Automatic"))


def sampler_name_of(scheduler: Any) -> str:
    """Our (A1111) name for a diffusers scheduler object, e.g. the model's own PNDMScheduler → "PLMS"."""
    karras = bool(getattr(scheduler.config, "use_karras_sigmas", False))
    for name, (class_name, options) in SCHEDULERS.items():
        if class_name == type(scheduler).__name__ and bool(options.get("use_karras_sigmas")) == karras:
            return name
    return type(scheduler).__name__.removesuffix("Scheduler")


def scheduler_for(pipe: Any, name: str) -> tuple[Any, str]:
    """A scheduler for `name` built from the model's own noise schedule, and the sampler name to record.

    The model's scheduler is remembered on the pipeline the first time, so later swaps start from it
    and not from the previous choice."""
    import diffusers

    from engine.models.errors import ModelError

    base = getattr(pipe, "_shootstudio_model_scheduler", None) or pipe.scheduler
    pipe._shootstudio_model_scheduler = base
    if name == DEFAULT_SAMPLER:
        return base, sampler_name_of(base)
    name = ALIASES.get(name, name)
    if name not in SCHEDULERS:
        raise ModelError(f"Unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}.")
    class_name, options = SCHEDULERS[name]
    return getattr(diffusers, class_name).from_config(base.config, **options), name


def set_scheduler(pipe: Any, name: str) -> None:
    """Swap `pipe`'s scheduler for `name`, keeping the model's noise schedule."""
    pipe.scheduler = scheduler_for(pipe, name)[0]
