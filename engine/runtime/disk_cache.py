"""Size caps for the app's disk caches (SAM embeddings, thumbnails): drop the oldest files first."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path


def prune_oldest(files: Iterable[Path], max_bytes: int) -> int:
    """Delete the least recently written of `files` until the rest fit in `max_bytes`; return bytes freed.

    Files that vanish meanwhile (another thread pruning, a user clearing the cache) are skipped."""
    entries = []
    for path in files:
        with contextlib.suppress(OSError):
            stat = path.stat()
            entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    freed = 0
    for _, size, path in sorted(entries, key=lambda entry: entry[0]):
        if total - freed <= max_bytes:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            freed += size
    return freed
