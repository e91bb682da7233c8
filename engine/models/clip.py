"""CLIP through open_clip: an architecture name plus a local checkpoint (never a download)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import open_clip
import torch

from engine.models.config import RoleSpec
from engine.models.errors import ModelError, UnsafeCheckpoint
from engine.models.locate import resolve


@dataclass
class ClipBundle:
    """The model with the image transform and tokenizer that belong to it."""

    model: Any
    preprocess: Any
    tokenizer: Any
    arch: str
    bf16_visual: Any = None  # a bf16 copy of the image encoder, made on first use on a bf16 CPU
    # (prompts key, dtype) -> text features, made once per loaded model (~1 s for 30 prompts on a CPU)
    text_features: dict = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        size = self.model.visual.image_size
        return int(size[0] if isinstance(size, tuple | list) else size)


def load_clip(role: RoleSpec, device: torch.device) -> ClipBundle:
    arch = role.option("arch", "ViT-B-32")
    config = role.option("config")
    if config:
        config_path = Path(config).expanduser()
        config_path = config_path if config_path.is_absolute() else role.base_dir / config_path
        if not config_path.is_file():
            raise ModelError(f"Model 'clip': architecture config {config_path} not found.")
        # open_clip names a registered config by its file stem.
        open_clip.add_model_config(config_path)
        arch = config_path.stem
    if arch not in open_clip.list_models():
        raise ModelError(f"Model 'clip': open_clip knows no architecture {arch!r} (set `arch` or `config`).")
    checkpoint = resolve(role)
    if checkpoint.is_dir():
        checkpoint = next(
            (
                checkpoint / n
                for n in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
                if (checkpoint / n).exists()
            ),
            checkpoint,
        )
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=str(checkpoint), device=device, weights_only=True
        )
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpoint(
            f"Model 'clip': refused {checkpoint}: it needs arbitrary code to load (unsafe pickle)."
        ) from error
    except (RuntimeError, OSError, ValueError, KeyError) as error:
        raise ModelError(f"Model 'clip': {checkpoint} does not load as {arch}: {str(error)[:300]}") from error
    model.eval()
    return ClipBundle(model, preprocess, open_clip.get_tokenizer(arch), arch)
