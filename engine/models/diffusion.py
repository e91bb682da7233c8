"""Stable Diffusion 1.5 pipelines from local diffusers folders, composed from the library's classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.device import DeviceChoice
from engine.models.config import RoleSpec
from engine.models.errors import ModelError
from engine.models.locate import resolve


def _from_pretrained(cls: Any, folder: Path, role: str, choice: DeviceChoice, **kwargs: Any) -> Any:
    try:
        return cls.from_pretrained(str(folder), local_files_only=True, dtype=choice.dtype, **kwargs)
    except (OSError, ValueError) as error:
        raise ModelError(
            f"Model '{role}': {folder} is not a loadable {cls.__name__}: {str(error)[:300]}"
        ) from error


def load_controlnet(spec: RoleSpec, choice: DeviceChoice) -> Any:
    from diffusers import ControlNetModel

    return _from_pretrained(ControlNetModel, resolve(spec, want_dir=True), spec.role, choice)


def load_inpaint_pipeline(spec: RoleSpec, choice: DeviceChoice, controlnet: Any | None = None) -> Any:
    """SD 1.5 inpainting, with a ControlNet when one is given."""
    from diffusers import StableDiffusionControlNetInpaintPipeline, StableDiffusionInpaintPipeline

    folder = resolve(spec, want_dir=True)
    extra: dict[str, Any] = {"safety_checker": None, "requires_safety_checker": False}
    if controlnet is not None:
        pipe = _from_pretrained(
            StableDiffusionControlNetInpaintPipeline,
            folder,
            spec.role,
            choice,
            controlnet=controlnet,
            **extra,
        )
    else:
        pipe = _from_pretrained(StableDiffusionInpaintPipeline, folder, spec.role, choice, **extra)
    return pipe.to(choice.device)


def load_txt2img_pipeline(spec: RoleSpec, choice: DeviceChoice) -> Any:
    from diffusers import StableDiffusionPipeline

    folder = resolve(spec, want_dir=True)
    pipe = _from_pretrained(
        StableDiffusionPipeline, folder, spec.role, choice, safety_checker=None, requires_safety_checker=False
    )
    return pipe.to(choice.device)
