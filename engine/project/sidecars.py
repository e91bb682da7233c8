"""Keep a shoot's decisions and its XMP sidecars in step, both ways (engine/project/xmp.py does the XML).

A *shot* is one picture: a file, or a RAW + JPEG pair of one stem (engine/imaging/raw.py). Decisions
apply to every file of a shot.

- `import_shot` (at folder open, and when a sidecar changes on disk): read the shot's newest XMP (any
  sidecar naming, else the XMP embedded in a JPEG/TIFF). A sidecar already seen at this modification
  time is skipped; otherwise the newer side wins: a sidecar written after this desk's last decision is
  applied (rating, label, −1 = reject), an older one is left for the next write to replace.
- `write_shot` (on every change): merge rating, label (and, when asked, the filter's `product/CLASS`
  keywords) into the sidecar each tool reads, as the naming setting says. A folder that cannot be
  written gets its sidecars inside the project store instead, with a note saying so.

Both return notes: one plain line each, for the status bar. Run them off the UI thread.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from engine.imaging.read import is_image_file
from engine.project import xmp
from engine.project.store import ProjectStore
from engine.project.values import PICK, PRODUCT, REJECT
from engine.project.xmp import XmpError, XmpValues

STORE_SIDECARS = "xmp"  # under the store root, for a read-only folder
EMBEDDED_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".png", ".webp", ".dng")


@dataclass(frozen=True)
class SidecarSettings:
    """naming: "stem" (IMG.xmp: Lightroom, Capture One, Photo Mechanic), "full" (IMG.CR2.xmp: darktable,
    digiKam) or "off" (read only, never write); keywords: also write `product/CLASS` to dc:subject."""

    naming: str = "stem"
    keywords: bool = False

    def __post_init__(self) -> None:
        if self.naming not in (*xmp.NAMINGS, "off"):
            raise ValueError(f"sidecar naming must be one of {(*xmp.NAMINGS, 'off')}, not {self.naming!r}")


@dataclass
class Shot:
    """The files of one picture and their image ids (content hashes), primary file first."""

    paths: list[Path]
    image_ids: list[str]


def _stars(value: int) -> str:
    return f"{value}★" if value else "no stars"


def _newest_xmp(shot: Shot) -> tuple[Path, int, XmpValues] | None:
    """(file it came from, its mtime_ns, values) of the shot's newest sidecar, else embedded XMP.
    `XmpError` for a sidecar that is not XMP (the caller reports it)."""
    sidecars = {p for path in shot.paths for p in xmp.sidecar_candidates(path)}
    dated = []
    for sidecar in sidecars:
        with contextlib.suppress(OSError):
            dated.append((sidecar.stat().st_mtime_ns, sidecar))
    if dated:
        mtime_ns, newest = max(dated)
        return newest, mtime_ns, xmp.read_sidecar(newest)
    for path in shot.paths:
        if path.suffix.lower() in EMBEDDED_SUFFIXES:
            values = xmp.read_embedded(path)
            if values is not None and (values.rating is not None or values.label is not None):
                return path, path.stat().st_mtime_ns, values
    return None


def import_shot(store: ProjectStore, shot: Shot) -> list[str]:
    """Apply the shot's XMP to the store when it is new and newer than the desk's decisions."""
    rel = store.rel_path(shot.paths[0])
    try:
        found = _newest_xmp(shot)
    except XmpError as error:
        return [str(error)]
    if found is None:
        return []
    source, mtime_ns, values = found
    record = store.sidecar_record(rel)
    if record is not None and record["sidecar"] == str(source) and record["mtime_ns"] == mtime_ns:
        return []  # seen (or written by us) at this very version
    notes = list(values.problems)
    decided = max((_decided_at(store, image_id) for image_id in shot.image_ids), default=0.0)
    written = mtime_ns / 1e9
    before = json.loads(record["data"] or "{}") if record is not None else {}
    if not values.label_present and before.get("label") is not None:
        values.label_cleared = True  # it said a label before, and says none now: cleared over there
    said = _said(values.rating, values.label, values.keywords, _flag_of(values))
    store.save_sidecar_record(rel, str(source), mtime_ns, said)
    if decided > written:
        if record is not None:  # changed while open, but this desk's decision is the later one
            notes.append(f"{source.name} changed on disk; your later decision here is kept")
        return notes
    changes = _apply(store, shot, values, written)
    if changes and record is not None:
        notes.append(f"{source.name} changed on disk (newer): {', '.join(changes)}")
    return notes


def _said(rating: int | None, label: str | None, keywords: list[str] | None, pick: bool = False) -> dict:
    """What a sidecar says, as recorded to tell later whether a write would change anything (and
    whether a label that vanished from it was cleared over there)."""
    ours = sorted(k for k in keywords or [] if k.startswith(xmp.MANAGED_KEYWORD_PREFIX))
    return {"rating": rating or 0, "label": label, "keywords": ours, "pick": pick}


def _flag_of(values: XmpValues) -> bool:
    return values.pick == PICK and values.rating != -1


def _up_to_date(store: ProjectStore, shot: Shot, said: dict, keywords: bool) -> bool:
    record = store.sidecar_record(store.rel_path(shot.paths[0]))
    if record is None:
        return False
    try:
        if Path(record["sidecar"]).stat().st_mtime_ns != record["mtime_ns"]:
            return False  # changed on disk since: the rescan decides first
    except OSError:
        return False
    recorded = json.loads(record["data"] or "{}")
    keys = ("rating", "label")
    same = {k: recorded.get(k) for k in keys} == {k: said[k] for k in keys}
    same = same and bool(recorded.get("pick")) == said["pick"]
    return same and (not keywords or recorded.get("keywords") == said["keywords"])


def _decided_at(store: ProjectStore, image_id: str) -> float:
    return max(store.flag_time(image_id), store.rating(image_id)[2])


def _apply(store: ProjectStore, shot: Shot, values: XmpValues, at: float) -> list[str]:
    """Write the XMP's values into the store for every file of the shot; returns what changed."""
    changes = []
    first = shot.image_ids[0]
    stars, label, _ = store.rating(first)
    flag = store.flag(first)
    new_flag, new_stars, new_label = flag, stars, label
    if values.rating == -1 or values.pick == REJECT:
        new_flag = REJECT
    elif values.rating is not None:
        new_stars = values.rating
        new_flag = None if flag == REJECT else flag  # the other tool did not keep it rejected
    if new_flag != REJECT and values.pick is not None:  # digiKam's pick label says pick or neither
        new_flag = PICK if values.pick == PICK else None
    if values.label is not None:
        new_label = values.label
    elif values.label_cleared:
        new_label = None
    if new_flag != flag:
        was = "rejected" if flag == REJECT else "picked"
        changes.append({REJECT: "rejected", PICK: "picked"}.get(new_flag or "", f"no longer {was}"))
    if new_stars != stars:
        changes.append(f"{_stars(stars)} → {_stars(new_stars)}")
    if new_label != label:
        changes.append(f"label {new_label}" if new_label else f"label {label} cleared")
    for image_id in shot.image_ids:
        if new_flag != store.flag(image_id):
            store.set_flag(image_id, new_flag, at=at)
        if (new_stars, new_label) != store.rating(image_id)[:2]:
            store.set_rating(image_id, new_stars, at=at)
            store.set_label(image_id, new_label, at=at)
    return changes


def _targets(shot: Shot, naming: str) -> list[Path]:
    if naming == "stem":  # one IMG.xmp serves the RAW and the JPEG of a pair
        return [xmp.sidecar_path(shot.paths[0], "stem")]
    return [xmp.sidecar_path(path, "full") for path in shot.paths]


def propagate(store: ProjectStore, shot: Shot) -> None:
    """Give every file of the shot the decisions of its shown file (a RAW + JPEG pair is one shot)."""
    first = shot.image_ids[0]
    flag, (stars, label, _) = store.flag(first), store.rating(first)
    for image_id in shot.image_ids[1:]:
        if store.flag(image_id) != flag:
            store.set_flag(image_id, flag)
        if store.rating(image_id)[:2] != (stars, label):
            store.set_rating(image_id, stars)
            store.set_label(image_id, label)


def write_shot(store: ProjectStore, shot: Shot, settings: SidecarSettings) -> list[str]:
    """Give the shot's companions its decisions, and merge them into its sidecar(s); notes for what
    could not be written where asked."""
    propagate(store, shot)
    if settings.naming == "off":
        return []
    first = shot.image_ids[0]
    stars, label, _ = store.rating(first)
    rating = -1 if store.flag(first) == REJECT else stars
    keywords = None
    if settings.keywords:
        verdict = store.verdict(first)
        classes = _classes(verdict) if verdict is not None and verdict["verdict"] == PRODUCT else []
        keywords = [f"{xmp.MANAGED_KEYWORD_PREFIX}{name}" for name in classes]
    flag = store.flag(first)
    said = _said(rating, label, keywords, flag == PICK)
    targets = _targets(shot, settings.naming)
    if _up_to_date(store, shot, said, settings.keywords):
        return []  # the sidecar already says this
    inside = [store.root / STORE_SIDECARS / store.rel_path(t) for t in targets]
    if not (rating or label or keywords) and not any(t.is_file() for t in (*targets, *inside)):
        return []  # nothing to say and no sidecar to keep in step: none is created
    notes = []
    for target in targets:
        try:
            written = _write(store, target, rating, label, keywords, flag)
        except XmpError as error:
            notes.append(f"{error}; not updated")
            continue
        if written != target:
            notes.append(
                f"{store.folder.name} is read-only: XMP sidecars are kept in the project store "
                f"({written.parent}), not beside the pictures"
            )
        with contextlib.suppress(OSError):
            mtime_ns = written.stat().st_mtime_ns
            for path in shot.paths:
                store.save_sidecar_record(store.rel_path(path), str(written), mtime_ns, said)
    return notes


def _classes(verdict) -> list[str]:
    return sorted(json.loads(verdict["classes"] or "{}"))


def _write(store: ProjectStore, target: Path, rating: int, label: str | None, keywords, flag=None) -> Path:
    if store.in_folder:
        try:
            return xmp.write_sidecar(target, rating, label, keywords, flag)
        except PermissionError:
            pass  # the folder turned read-only since it opened: fall back to the store
    inside = store.root / STORE_SIDECARS / store.rel_path(target)
    return xmp.write_sidecar(inside, rating, label, keywords, flag)


def shots_of(store: ProjectStore, groups: list[tuple[Path, list[Path]]]) -> list[Shot]:
    """Shots from a paired folder listing (`raw.pair_raw_jpeg`), registering files as needed; files that
    cannot be read are left out."""
    shots = []
    for primary, companions in groups:
        paths, ids = [], []
        for path in (primary, *companions):
            if not is_image_file(path):
                continue
            with contextlib.suppress(OSError):
                ids.append(store.register(path))
                paths.append(path)
        if paths:
            shots.append(Shot(paths, ids))
    return shots


def write_groups(
    store: ProjectStore, groups: list[tuple[Path, list[Path]]], settings: SidecarSettings
) -> list[str]:
    """`write_shot` for each (shown file, companions) group; the notes, each said once."""
    notes: list[str] = []
    for shot in shots_of(store, groups):
        notes.extend(note for note in write_shot(store, shot, settings) if note not in notes)
    return notes
