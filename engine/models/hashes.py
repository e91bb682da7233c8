"""Model file hashes as the AUTOMATIC1111 web UI and its extensions compute them, so the `parameters`
text we write links to the same files there (and on Civitai).

- checkpoint `Model hash`: sha256 of the whole file, first 10 hex digits (A1111's "shorthash",
  modules/sd_models.py); for a diffusers folder, the same over its UNet weights file (stable while the
  UNet is unchanged; A1111 has no hash of its own for folders).
- LoRA `Lora hashes`: sha256 of a safetensors file's tensor data after the header, first 12 hex digits
  (A1111's `addnet_hash_safetensors`, kohya sd-scripts' hash), so metadata edits do not change it.
- ControlNet `Model: NAME [hash]`: sd-webui-controlnet lists models with A1111's old 8-digit hash
  (sha256 of 64 KiB at offset 1 MiB, `sd_models.model_hash`).

Whole-file hashes of multi-GB checkpoints take seconds (about 4 s per GB on a loaded 2-core machine), so
results are kept per (path, size, mtime) in memory and in the user's cache folder (`hashes.json`, as A1111
keeps its `cache.json`): a command or app start hashes a model once, not on every run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from pathlib import Path

import platformdirs

from engine.runtime.atomic import atomic_write_bytes

_BLOCK = 1 << 20
_cache: dict[tuple[str, str, int, int], str] = {}
_lock = threading.Lock()


def _cache_file() -> Path:
    return Path(platformdirs.user_cache_dir("ShootStudio", appauthor=False)) / "hashes.json"


def _load_disk(file: Path) -> dict[str, str]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    return {}


def _cached(kind: str, path: Path, compute) -> str:
    stat = path.stat()
    key = (kind, str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    text_key = "|".join(str(part) for part in key)
    file = _cache_file()
    with _lock:
        if key in _cache:
            return _cache[key]
        stored = _load_disk(file).get(text_key)
        if stored:
            _cache[key] = stored
            return stored
    value = compute(path)
    with _lock:
        _cache[key] = value
        on_disk = _load_disk(file)
        on_disk[text_key] = value
        with contextlib.suppress(OSError):  # a read-only cache folder only costs the next run time
            atomic_write_bytes(file, json.dumps(on_disk, indent=0).encode("utf-8"))
    return value


def _sha256_from(path: Path, offset: int = 0, length: int | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        handle.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            chunk = handle.read(_BLOCK if remaining is None else min(_BLOCK, remaining))
            if not chunk:
                break
            digest.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return digest.hexdigest()


def sha256_file(path: Path | str) -> str:
    """Full sha256 hex digest of a file."""
    return _cached("sha256", Path(path), _sha256_from)


def addnet_hash(path: Path | str) -> str:
    """sha256 of a safetensors file after its 8-byte length and JSON header (full hex digest)."""

    def compute(file: Path) -> str:
        with open(file, "rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
        return _sha256_from(file, 8 + header_length)

    return _cached("addnet", Path(path), compute)


def legacy_model_hash(path: Path | str) -> str:
    """A1111's old 8-digit hash: sha256 of the 64 KiB at offset 1 MiB (what sd-webui-controlnet shows)."""
    return _cached("legacy", Path(path), lambda file: _sha256_from(file, 0x100000, 0x10000)[:8])


def weights_file(path: Path | str, subfolder: str = "") -> Path | None:
    """The weights file a model path stands for: the file itself, or a diffusers folder's
    (`subfolder`/)diffusion_pytorch_model*.safetensors (else .bin). None when there is none."""
    path = Path(path)
    if path.is_file():
        return path
    folder = path / subfolder if subfolder else path
    for pattern in (
        "diffusion_pytorch_model.safetensors",
        "diffusion_pytorch_model*.safetensors",
        "*.safetensors",
        "diffusion_pytorch_model*.bin",
    ):
        found = sorted(folder.glob(pattern)) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def checkpoint_shorthash(path: Path | str) -> str | None:
    """`Model hash` for a checkpoint file or a diffusers folder (its UNet), or None when not found."""
    file = weights_file(path, "unet") if Path(path).is_dir() else weights_file(path)
    return sha256_file(file)[:10] if file else None


def lora_shorthash(path: Path | str) -> str:
    """The 12-digit hash A1111 writes in `Lora hashes` (addnet hash for .safetensors)."""
    path = Path(path)
    return (addnet_hash(path) if path.suffix == ".safetensors" else sha256_file(path))[:12]


def controlnet_hash(path: Path | str) -> str | None:
    """The 8-digit hash sd-webui-controlnet puts after a ControlNet model's name."""
    file = weights_file(path)
    return legacy_model_hash(file) if file else None
