"""Stable Diffusion 1.5 pipelines, composed from the library's classes, loaded offline.

A role's path may be a diffusers folder, or a single-file checkpoint (`.safetensors`, or `.ckpt` which
diffusers reads with `weights_only=True`) as the AUTOMATIC1111 web UI keeps them. A single file is read
with a config folder bundled under `engine/models/configs/` (configs only, no weights), so it never needs the
network; a role option `config = "FOLDER"` points at another diffusers config folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.models.config import RoleSpec
from engine.models.errors import ModelError
from engine.models.locate import resolve
from engine.runtime.device import DeviceChoice

RESOURCES = Path(__file__).resolve().parent / "configs"
BUNDLED_CONFIGS = {
    "inpaint": RESOURCES / "sd15-inpainting",
    "txt2img": RESOURCES / "sd15",
    "controlnet_depth": RESOURCES / "sd15-controlnet-depth",
}
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")


@dataclass(frozen=True)
class MemoryOptions:
    """Ways to fit a small GPU: model CPU offload (one model on the GPU at a time) and VAE tiling."""

    cpu_offload: bool = False
    vae_tiling: bool = False

    def __str__(self) -> str:
        parts = [name for name, on in (("offload", self.cpu_offload), ("vae-tiling", self.vae_tiling)) if on]
        return "+".join(parts) or "default"


def _config_folder(spec: RoleSpec) -> Path:
    option = spec.option("config")
    if option:
        folder = Path(option).expanduser()
        folder = folder if folder.is_absolute() else spec.base_dir / folder
    else:
        folder = BUNDLED_CONFIGS[spec.role]
    if not folder.is_dir():
        raise ModelError(f"Model '{spec.role}': config folder {folder} not found.")
    return folder


def _load_error(role: str, where: Path, what: str, error: Exception) -> ModelError:
    return ModelError(f"Model '{role}': {where} is not a loadable {what}: {str(error)[:300]}")


def _is_single_file(path: Path) -> bool:
    return path.is_file() and path.suffix in SINGLE_FILE_SUFFIXES


def sd_tokenizer(config_folder: Path) -> Any:
    """SD 1.5's CLIP tokenizer: the config folder's own, else one derived from open_clip's bundled BPE
    (the same vocabulary), written once into the user's cache."""
    from transformers import CLIPTokenizer

    if (config_folder / "tokenizer" / "vocab.json").exists():
        return CLIPTokenizer.from_pretrained(str(config_folder / "tokenizer"))
    import platformdirs

    from engine.models.tiny import write_clip_tokenizer

    folder = Path(platformdirs.user_cache_dir("ShootStudio", appauthor=False)) / "sd15-tokenizer"
    if not (folder / "tokenizer_config.json").exists():
        # Written beside, then renamed: a crash never leaves a half tokenizer that later loads wrong.
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".sd15-tokenizer.", dir=folder.parent))
        write_clip_tokenizer(staging)
        try:
            os.replace(staging, folder)
        except OSError:  # another process won the race; its copy is the same
            shutil.rmtree(staging, ignore_errors=True)
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def load_controlnet(spec: RoleSpec, choice: DeviceChoice) -> Any:
    from diffusers import ControlNetModel

    path = resolve(spec, want_dir=None)
    try:
        if _is_single_file(path):
            return ControlNetModel.from_single_file(
                str(path), config=str(_config_folder(spec)), local_files_only=True, torch_dtype=choice.dtype
            )
        return ControlNetModel.from_pretrained(str(path), local_files_only=True, dtype=choice.dtype)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise _load_error(spec.role, path, "ControlNet", error) from error


def _load_pipeline(cls: Any, spec: RoleSpec, choice: DeviceChoice, **components: Any) -> Any:
    path = resolve(spec, want_dir=True)
    components |= {"safety_checker": None, "requires_safety_checker": False}
    try:
        if _is_single_file(path):
            config = _config_folder(spec)
            return cls.from_single_file(
                str(path),
                config=str(config),
                local_files_only=True,
                torch_dtype=choice.dtype,
                tokenizer=sd_tokenizer(config),
                feature_extractor=None,
                **components,
            )
        return cls.from_pretrained(str(path), local_files_only=True, dtype=choice.dtype, **components)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise _load_error(spec.role, path, f"SD 1.5 model for {cls.__name__}", error) from error


def _place(pipe: Any, choice: DeviceChoice, memory: MemoryOptions) -> Any:
    """Move to the device; SDPA attention on CUDA; offload/tiling when asked."""
    if choice.device.type == "cuda":
        from diffusers.models.attention_processor import AttnProcessor2_0

        # PyTorch's fused scaled-dot-product attention: the fast, memory-lean kernel on GPUs.
        for name in ("unet", "controlnet"):
            module = getattr(pipe, name, None)
            if module is not None:
                module.set_attn_processor(AttnProcessor2_0())
    if memory.vae_tiling:
        pipe.vae.enable_tiling()
    if memory.cpu_offload and choice.device.type == "cuda":
        pipe.enable_model_cpu_offload(device=choice.device)
    else:
        pipe.to(choice.device)  # offload only means something with a GPU; on the CPU all is resident
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load_inpaint_pipeline(
    spec: RoleSpec, choice: DeviceChoice, controlnet: Any | None = None, memory: MemoryOptions | None = None
) -> Any:
    """SD 1.5 inpainting, with a ControlNet when one is given."""
    from diffusers import StableDiffusionControlNetInpaintPipeline, StableDiffusionInpaintPipeline

    if controlnet is not None:
        pipe = _load_pipeline(StableDiffusionControlNetInpaintPipeline, spec, choice, controlnet=controlnet)
    else:
        pipe = _load_pipeline(StableDiffusionInpaintPipeline, spec, choice)
    return _place(pipe, choice, memory or MemoryOptions())


def load_txt2img_pipeline(spec: RoleSpec, choice: DeviceChoice, memory: MemoryOptions | None = None) -> Any:
    from diffusers import StableDiffusionPipeline

    pipe = _load_pipeline(StableDiffusionPipeline, spec, choice)
    return _place(pipe, choice, memory or MemoryOptions())
