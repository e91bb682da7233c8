"""LoRA files on a diffusers pipeline: kohya (AUTOMATIC1111) and diffusers/peft formats, several at once.

diffusers' `load_lora_weights` detects and converts the kohya key format itself; this module only parses
`FILE[:SCALE]`, refuses non-safetensors files, and keeps a cached pipeline's adapters in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.models.errors import ModelError
from engine.runtime.jobs import EngineError

MAX_LORA_SCALE = 10  # beyond this a LoRA only burns the image (a typo like 1e30 is refused)


class LoraError(EngineError):
    exit_code = 2


@dataclass(frozen=True)
class LoraSpec:
    path: Path
    scale: float = 1.0

    def __str__(self) -> str:
        return f"{self.path.stem}:{self.scale:g}"


def parse_lora_arg(text: str) -> LoraSpec:
    """`FILE` or `FILE:SCALE` (a Windows drive letter is not a scale)."""
    path, scale = text, 1.0
    head, sep, tail = text.rpartition(":")
    if sep and head and not tail.startswith(("\\", "/")):
        try:
            scale = float(tail)
            path = head
        except ValueError:
            pass
    if not math.isfinite(scale) or abs(scale) > MAX_LORA_SCALE:
        raise LoraError(f"LoRA {Path(path).name}: scale {scale:g}: use -{MAX_LORA_SCALE} to {MAX_LORA_SCALE}")
    spec = LoraSpec(Path(path).expanduser(), scale)
    if not spec.path.is_file():
        raise LoraError(f"LoRA file not found: {spec.path}")
    if spec.path.suffix != ".safetensors":
        raise LoraError(
            f"LoRA {spec.path.name}: only .safetensors LoRA files are loaded (they cannot run code)"
        )
    return spec


def apply_loras(pipe: Any, loras: list[LoraSpec]) -> None:
    """Make exactly `loras` active on `pipe` (a cached pipeline may carry adapters from a previous run)."""
    wanted = tuple((str(spec.path.resolve()), spec.path.stat().st_mtime) for spec in loras)
    loaded = getattr(pipe, "_shootstudio_loras", ())
    if wanted != loaded:
        if loaded:
            pipe.unload_lora_weights()
        for index, spec in enumerate(loras):
            try:
                pipe.load_lora_weights(str(spec.path), adapter_name=f"lora{index}")
            except (ValueError, KeyError, RuntimeError, OSError) as error:
                pipe.unload_lora_weights()
                pipe._shootstudio_loras = ()
                raise ModelError(
                    f"LoRA {spec.path.name} does not fit this SD 1.5 model "
                    f"(kohya or diffusers format expected): {str(error)[:200]}"
                ) from error
        pipe._shootstudio_loras = wanted
    if loras:
        pipe.set_adapters([f"lora{i}" for i in range(len(loras))], adapter_weights=[s.scale for s in loras])
