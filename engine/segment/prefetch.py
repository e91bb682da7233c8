"""Embed ahead: while the user browses, SAM embeds the folder's images in browse order into the disk cache,
so a click on any image the prefetcher reached answers at once.

The plan is plain data owned by the engine (engine/api/engine.py runs it as idle jobs): the images of
the folder in browse order, starting at the one under review, then those after it, then those before it
(nearest first). Navigating re-plans from the new position; the engine yields the running embedding (it
stops between encoder blocks) whenever any other job is submitted, and carries on after it.

```python
plan = EmbedAhead()
generation = plan.plan(folder, [(image_id_or_None, path), ...], start=3, on_ready=callback)
item = plan.take(generation)        # the next (image_id, path), or None: done or superseded
plan.put_back(generation, item)     # interrupted: it goes first again
```
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Item = tuple[str | None, Path]  # (content hash if known, path)

# Embed ahead only while the cache stays below this share of its cap: prefetching never evicts
# embeddings the user made by visiting images.
CACHE_SHARE = 0.9
EMBEDDING_BYTES = 64 * 64 * 256 * 4 + 1024  # one vit embedding (.npz, float32)


def browse_order(count: int, start: int) -> list[int]:
    """`start`, then the images after it, then those before it, nearest first."""
    if count <= 0:
        return []
    start = min(max(start, 0), count - 1)
    return [*range(start, count), *range(start - 1, -1, -1)]


def cache_has_room(cache: Any) -> bool:
    """Whether one more embedding fits in `cache` (an EmbeddingCache) below CACHE_SHARE of its cap."""
    return cache.size_bytes() + EMBEDDING_BYTES <= cache.cap_bytes * CACHE_SHARE


class EmbedAhead:
    """The embed-ahead queue of one engine. Thread-safe: the UI thread plans, the engine thread takes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0
        self.folder: Path | None = None
        self.on_ready: Callable[[str, Path], None] | None = None
        self._queue: list[Item] = []
        self.job: Any = None  # the job running the plan now (the engine yields it to other jobs)

    def plan(
        self,
        folder: Path,
        items: list[Item],
        start: int = 0,
        on_ready: Callable[[str, Path], None] | None = None,
    ) -> int:
        """Replace the plan: `items` in browse order from `start`. Returns its generation; what an older
        generation's job takes afterwards is None."""
        with self._lock:
            self.generation += 1
            self.folder = Path(folder)
            self.on_ready = on_ready
            self._queue = [items[i] for i in browse_order(len(items), start)]
            return self.generation

    def cancel(self) -> None:
        """Forget the plan (the folder closed); a running job stops at its next image."""
        with self._lock:
            self.generation += 1
            self._queue = []
            job = self.job
        if job is not None:
            job.cancel("embed-ahead cancelled")

    def take(self, generation: int) -> Item | None:
        with self._lock:
            if generation != self.generation or not self._queue:
                return None
            return self._queue.pop(0)

    def put_back(self, generation: int, item: Item) -> None:
        with self._lock:
            if generation == self.generation:
                self._queue.insert(0, item)

    def pending(self) -> list[Item]:
        with self._lock:
            return list(self._queue)
