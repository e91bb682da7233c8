"""The project store of a shoot folder: SQLite index + lossless mask PNGs + size-capped caches.

Where it lives: `FOLDER/.shootstudio/`, or, when the folder cannot be written (a read-only card, a
share), a per-folder directory under the user's data dir. Originals are never written.

API (stable; additions only):

```python
store = ProjectStore.open(folder)             # creates the store on first use
image_id = store.register(path)               # content hash; cached by (size, mtime) so re-runs are cheap
for entry in store.images():                  # ImageEntry: path, image_id, verdict, classes, regions, flag…
    ...
store.set_flag(image_id, "pick")              # "pick" | "reject" | None
store.set_rating(image_id, 4)                 # stars 0..5; store.set_label(image_id, "red") | None
store.save_edited_mask(image_id, mask)        # HxW bool or uint8; kept apart from the filter's proposals,
store.edited_mask(image_id)                   #   survives re-runs (keyed by content, not by run)
store.mask_for_review(image_id)               # the edited mask, else the union of the product regions
store.embeddings                              # EmbeddingCache shared by the filter and the mask canvas
store.save_recipe(image_id, "enhance", {...}) # free-form JSON recipes (enhance settings, ...)
```

Filter results are stored per (image content hash, run key), where the run key names the models and the
settings that change model outputs (not the thresholds): `save_result`, `result`, `region_rows`,
`set_verdict`. Every write is a short SQLite transaction (WAL journal) and every file goes through
engine/runtime/atomic.py, so a crash loses at most the image being processed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.imaging.capture import capture_time
from engine.project.claims import ClaimRecords
from engine.project.culling_records import CullingRecords
from engine.project.location import STORE_DIRNAME, content_hash, fallback_root, store_root_for
from engine.project.mask_records import MaskRecords
from engine.project.schema import create_or_migrate
from engine.project.values import FLAGS
from engine.runtime.embedding_cache import EmbeddingCache
from engine.runtime.errors import printable_path

BUSY_TIMEOUT_MS = 15000  # another process (a second CLI, the GUI) holding a write lock, waited for


def _path_param(rel: str) -> str | bytes:
    """A relative path as SQLite stores it. A name that is not valid UTF-8 (caf\\xe9.jpg, decoded by
    Python with surrogate escapes) cannot be SQLite text; it is kept as its exact bytes instead."""
    try:
        rel.encode("utf-8")
        return rel
    except UnicodeEncodeError:
        return os.fsencode(rel)


def _path_value(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _text(message: str | None) -> str | None:
    """A message for the database: undecodable bytes of a file name shown as \\xNN."""
    return None if message is None else printable_path(message)


def _remove_fresh_store(root: Path) -> None:
    """Remove a store directory this process just created and could not use (nothing of the user's)."""
    for name in ("project.db", "project.db-wal", "project.db-shm"):
        with contextlib.suppress(OSError):
            (root / name).unlink()
    for sub in sorted(root.rglob("*"), reverse=True):
        with contextlib.suppress(OSError):
            sub.rmdir()  # only empty folders (cache/sam made by the embedding cache)
    with contextlib.suppress(OSError):
        root.rmdir()


@dataclass
class ImageEntry:
    """One image of the shoot as the browser shows it (verdict fields are None before any filter run)."""

    path: Path  # absolute
    rel_path: str
    image_id: str
    verdict: str | None = None  # product | skipped | uncertain | error
    classes: dict[str, int] = field(default_factory=dict)  # class name -> region count
    regions: list[int] = field(default_factory=list)  # indices of the product regions
    reason: str | None = None  # why: the error message, or the best score against its threshold
    flag: str | None = None  # pick | reject | None
    has_edited_mask: bool = False
    run_key: str | None = None
    rating: int = 0  # stars 0..5
    label: str | None = None  # one of values.LABELS, or None
    captured_at: str | None = None  # ISO 8601 (EXIF DateTimeOriginal, else the file's mtime)
    decided_at: float = 0.0  # when the flag, rating or label last changed here (0: never)


class ProjectStore(MaskRecords, CullingRecords, ClaimRecords):
    """The store of one folder. Safe to share between threads (one connection behind a lock)."""

    def __init__(self, folder: Path, root: Path, embedding_cap_bytes: int = 2 << 30):
        self.folder = folder.resolve()
        self.root = root
        self.masks_dir = root / "masks"
        self.embeddings = EmbeddingCache(root / "cache" / "sam", embedding_cap_bytes)
        self.raw_cache = root / "cache" / "raw"  # full RAW decodes (engine/imaging/raw.py)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(root / "project.db", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            with self._lock:
                self._setup()
        except BaseException:
            self._db.close()  # a store that could not open (disk full, locked) holds no file open
            raise

    def _setup(self) -> None:
        # The busy timeout first: another process may be creating the same fresh store, and switching
        # to WAL takes a lock (without the timeout 9 of 160 concurrent opens failed "database is locked").
        self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        for attempt in range(5):
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: a crashed app loses nothing committed
        create_or_migrate(self._db)

    @classmethod
    def open(cls, folder: Path | str, root: Path | str | None = None) -> ProjectStore:
        folder = Path(folder)
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder")
        if root:
            return cls(folder, Path(root))
        local = store_root_for(folder)
        fresh = not (local / "project.db").exists()
        try:
            return cls(folder, local)
        except (sqlite3.Error, OSError) as error:
            # A folder whose disk is full (or that refuses the database) gets its store in the user's
            # data dir, as a read-only one does; an existing store is never silently replaced.
            if not fresh or local != folder.resolve() / STORE_DIRNAME:
                raise
            _remove_fresh_store(local)
            try:
                return cls(folder, fallback_root(folder))
            except (sqlite3.Error, OSError):
                raise error from None

    @property
    def in_folder(self) -> bool:
        """False when the folder was read-only and the store lives in the user's data dir."""
        return self.root == self.folder / STORE_DIRNAME

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self, sql: str, params: tuple = ()) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute(sql, params)

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- images --------------------------------------------------------------------------------
    def rel_path(self, path: Path) -> str:
        path = Path(path).resolve()
        try:
            return path.relative_to(self.folder).as_posix()
        except ValueError:
            return str(path)

    def register(self, path: Path | str) -> str:
        """The image id (content hash) of `path`, re-hashing only when its size or mtime changed.

        Raises OSError when the file cannot be read at all."""
        path = Path(path)
        stat = path.stat()
        rel = self.rel_path(path)
        rows = self._rows("SELECT image_id, size, mtime_ns FROM files WHERE rel_path=?", (_path_param(rel),))
        if rows and rows[0]["size"] == stat.st_size and rows[0]["mtime_ns"] == stat.st_mtime_ns:
            return rows[0]["image_id"]
        image_id = content_hash(path)
        self._tx(
            "INSERT OR REPLACE INTO files VALUES(?,?,?,?,?)",
            (_path_param(rel), image_id, stat.st_size, stat.st_mtime_ns, time.time()),
        )
        if not self._rows("SELECT 1 FROM captures WHERE image_id=?", (image_id,)):
            self._tx("INSERT OR REPLACE INTO captures VALUES(?,?)", (image_id, capture_time(path)))
        return image_id

    def image_id(self, path: Path | str) -> str:
        return self.register(path)

    def images(self) -> list[ImageEntry]:
        """Every registered image still on disk, in folder order, with its verdict, flag and mask state."""
        rows = self._rows(
            """SELECT f.rel_path, f.image_id, v.verdict, v.classes, v.regions, v.reason, v.run_key,
                      fl.flag, e.mask_path IS NOT NULL AS edited, r.rating, r.label, c.captured_at,
                      MAX(COALESCE(fl.updated_at, 0), COALESCE(r.updated_at, 0)) AS decided_at
               FROM files f LEFT JOIN verdicts v ON v.image_id=f.image_id
               LEFT JOIN flags fl ON fl.image_id=f.image_id
               LEFT JOIN edited_masks e ON e.image_id=f.image_id
               LEFT JOIN ratings r ON r.image_id=f.image_id
               LEFT JOIN captures c ON c.image_id=f.image_id"""
        )
        entries = []
        named = [(_path_value(row["rel_path"]), row) for row in rows]
        for rel, row in sorted(named, key=lambda item: item[0].casefold()):
            path = self.folder / rel
            if not path.exists():
                continue
            entries.append(
                ImageEntry(
                    path=path,
                    rel_path=rel,
                    image_id=row["image_id"],
                    verdict=row["verdict"],
                    classes=json.loads(row["classes"] or "{}"),
                    regions=json.loads(row["regions"] or "[]"),
                    reason=row["reason"],
                    flag=row["flag"],
                    has_edited_mask=bool(row["edited"]),
                    run_key=row["run_key"],
                    rating=row["rating"] or 0,
                    label=row["label"],
                    captured_at=row["captured_at"],
                    decided_at=row["decided_at"] or 0.0,
                )
            )
        return entries

    def entry(self, image_id: str) -> ImageEntry | None:
        return next((e for e in self.images() if e.image_id == image_id), None)

    # -- review flags --------------------------------------------------------------------------
    def flag(self, image_id: str) -> str | None:
        rows = self._rows("SELECT flag FROM flags WHERE image_id=?", (image_id,))
        return rows[0]["flag"] if rows else None

    def set_flag(self, image_id: str, flag: str | None, at: float | None = None) -> None:
        """Pick / reject / unflag; `at` (epoch seconds) dates a decision read from elsewhere (XMP)."""
        if flag not in (*FLAGS, None):
            raise ValueError(f"flag must be one of {FLAGS} or None, not {flag!r}")
        if flag is None:
            self._tx("DELETE FROM flags WHERE image_id=?", (image_id,))
        else:
            when = time.time() if at is None else at
            self._tx("INSERT OR REPLACE INTO flags VALUES(?,?,?)", (image_id, flag, when))

    def flag_time(self, image_id: str) -> float:
        rows = self._rows("SELECT updated_at FROM flags WHERE image_id=?", (image_id,))
        return rows[0]["updated_at"] if rows else 0.0

    # -- filter results ------------------------------------------------------------------------
    def result(self, image_id: str, run_key: str) -> sqlite3.Row | None:
        rows = self._rows("SELECT * FROM results WHERE image_id=? AND run_key=?", (image_id, run_key))
        return rows[0] if rows else None

    def results_of(self, image_id: str) -> list[sqlite3.Row]:
        """Every run's result for the image, newest first."""
        return self._rows("SELECT * FROM results WHERE image_id=? ORDER BY created_at DESC", (image_id,))

    def region_rows(self, image_id: str, run_key: str) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM regions WHERE image_id=? AND run_key=? ORDER BY idx", (image_id, run_key)
        )

    def save_result(
        self,
        image_id: str,
        run_key: str,
        *,
        status: str,
        error: str | None = None,
        size: tuple[int, int] | None = None,
        info: dict[str, Any] | None = None,
        regions: list[dict[str, Any]] = (),
    ) -> None:
        """One image's model output for a run, in one transaction (mask PNGs must be written first).

        Each region: idx, box [x0,y0,x1,y1], area, pred_iou, stability, mask_path, scores {name: prob},
        and optionally mask_scale (original px per mask px; by default `size` over `info["work_size"]`)."""
        width, height = size or (None, None)
        work = (info or {}).get("work_size")
        default_scale = width / work[0] if width and work and work[0] else None
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM regions WHERE image_id=? AND run_key=?", (image_id, run_key))
            self._db.execute(
                "INSERT OR REPLACE INTO results VALUES(?,?,?,?,?,?,?,?)",
                (image_id, run_key, status, _text(error), width, height, json.dumps(info or {}), time.time()),
            )
            self._db.executemany(
                "INSERT INTO regions(image_id, run_key, idx, box, area, pred_iou, stability, mask_path,"
                " scores, mask_scale) VALUES(?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        image_id,
                        run_key,
                        r["idx"],
                        json.dumps(r["box"]),
                        int(r["area"]),
                        float(r["pred_iou"]),
                        float(r["stability"]),
                        r.get("mask_path"),
                        json.dumps(r["scores"]),
                        r.get("mask_scale", default_scale),
                    )
                    for r in regions
                ],
            )

    def set_verdict(
        self,
        image_id: str,
        run_key: str | None,
        verdict: str,
        *,
        classes: dict[str, int] | None = None,
        regions: list[int] = (),
        best: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        self._tx(
            "INSERT OR REPLACE INTO verdicts VALUES(?,?,?,?,?,?,?,?)",
            (
                image_id,
                run_key,
                verdict,
                json.dumps(classes or {}),
                json.dumps(list(regions)),
                json.dumps(best) if best else None,
                _text(reason),
                time.time(),
            ),
        )

    def verdict(self, image_id: str) -> sqlite3.Row | None:
        rows = self._rows("SELECT * FROM verdicts WHERE image_id=?", (image_id,))
        return rows[0] if rows else None

    # -- recipes -------------------------------------------------------------------------------
    def save_recipe(self, image_id: str, name: str, data: dict[str, Any]) -> None:
        self._tx(
            "INSERT INTO recipes(image_id, name, data, created_at) VALUES(?,?,?,?)",
            (image_id, name, json.dumps(data), time.time()),
        )

    def recipes(self, image_id: str, name: str | None = None) -> list[dict[str, Any]]:
        """Recipes of an image, newest first."""
        sql = "SELECT name, data, created_at FROM recipes WHERE image_id=?"
        params: tuple = (image_id,)
        if name is not None:
            sql, params = sql + " AND name=?", (*params, name)
        rows = self._rows(sql + " ORDER BY id DESC", params)
        return [{"name": r["name"], "created_at": r["created_at"], **json.loads(r["data"])} for r in rows]
