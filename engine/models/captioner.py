"""BLIP image captioning (transformers), for LoRA training captions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.models.config import RoleSpec
from engine.models.errors import ModelError
from engine.models.locate import resolve
from engine.runtime.device import DeviceChoice


@dataclass
class CaptionerBundle:
    model: Any
    processor: Any


def load_captioner(spec: RoleSpec, choice: DeviceChoice) -> CaptionerBundle:
    from transformers import BlipForConditionalGeneration, BlipProcessor

    folder = resolve(spec, want_dir=True)
    try:
        processor = BlipProcessor.from_pretrained(str(folder), local_files_only=True)
        model = BlipForConditionalGeneration.from_pretrained(
            str(folder), local_files_only=True, dtype=choice.dtype
        )
    except (OSError, ValueError) as error:
        raise ModelError(f"Model 'captioner': {folder} is not a BLIP captioning model: {error}") from error
    return CaptionerBundle(model.to(choice.device).eval(), processor)
