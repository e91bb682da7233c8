"""Read weight files as untrusted input: safetensors, or `torch.load(weights_only=True)`.

A checkpoint that needs arbitrary unpickling could run code on the user's machine; it is refused.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from engine.models.errors import ModelError, UnsafeCheckpoint

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


def load_state_dict(path: Path | str, role: str = "model") -> dict[str, torch.Tensor]:
    """Return the tensors of `path` on the CPU. Never executes code from the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"Model '{role}': {path} is not a file.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as error:
            raise ModelError(
                f"Model '{role}': {path} is not a readable safetensors file ({error})."
            ) from error
    if not _looks_like_torch_file(path):
        raise ModelError(
            f"Model '{role}': {path} is not a PyTorch checkpoint (neither a zip archive nor a pickle); "
            "use a .safetensors file or a .pth/.pt state dict."
        )
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpoint(
            f"Model '{role}': refused {path}: it needs arbitrary code to load (unsafe pickle). "
            "Use a .safetensors file or a plain PyTorch state dict."
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError, IndexError, KeyError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"Model '{role}': {path} is not a readable PyTorch checkpoint ({first}).") from error
    # Lightning-style wrappers keep the weights under "state_dict" / "model".
    for key in ("state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelError(f"Model '{role}': {path} holds no state dict of tensors.")
    return data


def _looks_like_torch_file(path: Path) -> bool:
    """torch.save writes a zip archive (PK..) or, in the legacy format, a pickle (protocol 2+: 0x80)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as error:
        raise ModelError(f"Model: {path} cannot be read ({error.strerror}).") from error
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def file_format(path: Path) -> str:
    """A short description of what is at `path`, for `models status`."""
    if path.is_dir():
        if (path / "model_index.json").exists():
            return "diffusers pipeline folder"
        if (path / "config.json").exists():
            return "diffusers/transformers model folder"
        if (path / "open_clip_config.json").exists():
            return "open_clip folder"
        return "folder"
    if path.suffix == ".safetensors":
        return "safetensors"
    if path.suffix in PICKLE_SUFFIXES:
        return "PyTorch checkpoint (loaded with weights_only)"
    return path.suffix.lstrip(".") or "file"
