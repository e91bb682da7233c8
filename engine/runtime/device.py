"""Pick the compute device and dtype: CUDA (fp16), then Apple MPS, then CPU (fp32)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.runtime.errors import UsageError
from engine.runtime.jobs import EngineError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    dtype: torch.dtype

    def __str__(self) -> str:
        return f"{self.device.type} ({str(self.dtype).removeprefix('torch.')})"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def choose_device(preference: str = "auto") -> DeviceChoice:
    """`auto` prefers CUDA, then MPS, then CPU; an explicit choice that is not available is an error."""
    preference = (preference or "auto").lower()
    if preference not in DEVICE_CHOICES:
        raise EngineError(f"Unknown device {preference!r}; choose one of {', '.join(DEVICE_CHOICES)}.")
    if preference == "auto":
        if torch.cuda.is_available():
            preference = "cuda"
        elif _mps_available():
            preference = "mps"
        else:
            preference = "cpu"
    if preference == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            "--device cuda was asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto."
        )
    if preference == "mps" and not _mps_available():
        raise EngineError("--device mps was asked for, but Apple's Metal backend is not available.")
    # fp16 halves memory on GPUs; CPUs have no fast fp16 path, so they stay in fp32.
    dtype = torch.float16 if preference in ("cuda", "mps") else torch.float32
    return DeviceChoice(torch.device(preference), dtype)
