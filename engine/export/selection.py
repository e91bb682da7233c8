"""Which images of a shoot an export takes: picked, a verdict, a product class, a rating, or given files."""

from __future__ import annotations

import re
from pathlib import Path

from engine.export.files import ExportError
from engine.project.store import ImageEntry, ProjectStore
from engine.project.values import FLAGS, VERDICTS

SELECT_HELP = (
    "picked | rejected | unflagged | all | a verdict (product, uncertain, skipped, error) | "
    "class:NAME (or a class name) | rating>=N"
)


def select_entries(
    store: ProjectStore, select: str = "picked", paths: list[Path] | None = None
) -> list[ImageEntry]:
    """The store's images that `select` names (or exactly `paths`, in the order given)."""
    entries = store.images()
    if paths is not None:
        by_path = {entry.path.resolve(): entry for entry in entries}
        chosen = []
        for path in paths:
            entry = by_path.get(Path(path).resolve())
            if entry is None:
                store.register(path)  # an image the store has not indexed yet: no mask, listed as such
                entry = next(e for e in store.images() if e.path.resolve() == Path(path).resolve())
            chosen.append(entry)
        return chosen
    text = select.strip()
    key = text.lower()
    if key == "all":
        return entries
    if key in ("picked", "pick", "rejected", "reject"):
        flag = FLAGS[0] if key.startswith("pick") else FLAGS[1]
        return [e for e in entries if e.flag == flag]
    if key == "unflagged":
        return [e for e in entries if e.flag is None]
    if key in VERDICTS:
        return [e for e in entries if e.verdict == key]
    rating = re.fullmatch(r"rating\s*>=\s*(\d)", key)
    if rating:
        return [e for e in entries if e.rating >= int(rating.group(1))]
    name = text.split(":", 1)[1].strip() if key.startswith("class:") else text
    chosen = [e for e in entries if name in e.classes]
    if not chosen and not any(name in e.classes for e in entries):
        known = sorted({c for e in entries for c in e.classes})
        raise ExportError(
            f"Nothing to select by {text!r}: use {SELECT_HELP}"
            + (f"; classes in this shoot: {', '.join(known)}" if known else "")
        )
    return chosen
