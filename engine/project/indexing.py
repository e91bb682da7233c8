"""Indexing an open shoot off the UI thread: every file registered in the project store (content hash,
cached by size and mtime), XMP sidecars read in, and what the store then knows yielded in batches for
the document (engine/project/document.py) to apply on its own thread."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.project.sidecars import import_shot, shots_of
from engine.project.store import ImageEntry, ProjectStore


def index_entries(
    store: ProjectStore,
    paths: list[Path],
    stopped: Callable[[], bool] | None = None,
    batch_seconds: float = 0.3,
) -> Iterator[dict[Path, ImageEntry]]:
    """Register every path (content hash, cached by size and mtime) and yield what the store knows,
    in batches: {path: entry}. Run it off the UI thread; unreadable files are skipped; it ends early
    once `stopped()` is true (checked before each file)."""
    pending: list[Path] = []
    last = time.monotonic()
    for path in paths:
        if stopped is not None and stopped():
            return
        try:
            store.register(path)
        except OSError:
            continue
        pending.append(path)
        if time.monotonic() - last >= batch_seconds:
            yield _entries_for(store, pending)
            pending, last = [], time.monotonic()
    if pending:
        yield _entries_for(store, pending)


class IndexBatch(dict):
    """{path: entry} as `index_entries` yields, plus `notes`: one line each about the XMP sidecars read
    (a sidecar changed on disk, a bad one), for the status bar."""

    def __init__(self, entries: dict[Path, ImageEntry], notes: list[str] | None = None):
        super().__init__(entries)
        self.notes = list(notes or [])


def index_shots(
    store: ProjectStore,
    groups: list[tuple[Path, list[Path]]],
    stopped: Callable[[], bool] | None = None,
    batch_seconds: float = 0.3,
) -> Iterator[IndexBatch]:
    """`index_entries` for shots (a file, or a RAW + JPEG pair): registers every file, reads the shot's
    XMP sidecars into the store (engine/project/sidecars.py: the newer side wins), and yields what the
    store then knows about each shown file, in batches. Run it off the UI thread; it is also the rescan
    when a sidecar changed on disk (registering an unchanged file is a lookup)."""
    pending: list[Path] = []
    notes: list[str] = []
    last = time.monotonic()
    for primary, companions in groups:
        if stopped is not None and stopped():
            return
        for shot in shots_of(store, [(primary, companions)]):
            notes.extend(import_shot(store, shot))
            pending.append(primary)
        if time.monotonic() - last >= batch_seconds:
            yield IndexBatch(_entries_for(store, pending), notes)
            pending, notes, last = [], [], time.monotonic()
    if pending or notes:
        yield IndexBatch(_entries_for(store, pending), notes)


def _entries_for(store: ProjectStore, paths: list[Path]) -> dict[Path, ImageEntry]:
    wanted = {p.resolve() for p in paths}
    return {entry.path.resolve(): entry for entry in store.images() if entry.path.resolve() in wanted}
