"""A size-capped on-disk cache of SAM image embeddings, shared by the product filter and the mask canvas.

One `.npz` per (model, image content hash). Reads refresh the file's mtime; when the cache grows past its
cap, the least recently used files go first. Writes are atomic, so a crash never leaves a half file.
"""

from __future__ import annotations

import contextlib
import os
import threading
import zipfile
from pathlib import Path

import numpy as np

from engine.runtime.atomic import atomic_writer, remove_dead_temps
from engine.runtime.disk_cache import prune_oldest


class EmbeddingCache:
    """`get`/`put` named float arrays per (image_id, model_key); thread-safe, bounded by `cap_bytes`."""

    def __init__(self, folder: Path, cap_bytes: int = 2 << 30):
        self.folder = Path(folder)
        self.cap_bytes = int(cap_bytes)
        self._lock = threading.Lock()

    def path(self, image_id: str, model_key: str) -> Path:
        return self.folder / model_key / f"{image_id}.npz"

    def get(self, image_id: str, model_key: str) -> dict[str, np.ndarray] | None:
        path = self.path(image_id, model_key)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            os.utime(path)  # recently used: evicted last
            return arrays
        except FileNotFoundError:
            return None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            # A damaged entry (disk trouble): drop it and recompute.
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def put(self, image_id: str, model_key: str, arrays: dict[str, np.ndarray]) -> Path:
        path = self.path(image_id, model_key)
        with self._lock:
            with atomic_writer(path) as handle:
                np.savez(handle, **arrays)  # uncompressed: float embeddings barely compress
            remove_dead_temps(path.parent)  # what a killed writer left
            self._evict()
        return path

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.rglob("*.npz"))

    def _evict(self) -> None:
        prune_oldest(self.folder.rglob("*.npz"), self.cap_bytes)
