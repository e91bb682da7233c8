"""The store's culling records: stars, colour labels, capture times, and what each XMP sidecar last said.

A mixin of `ProjectStore` (engine/project/store.py): it uses the store's `_rows` and `_tx`."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from engine.project.values import LABELS, RATINGS


class CullingRecords:
    # -- stars and colour labels -----------------------------------------------------------------
    def rating(self, image_id: str) -> tuple[int, str | None, float]:
        """(stars 0..5, label or None, when either last changed; 0.0 when never set)."""
        rows = self._rows("SELECT rating, label, updated_at FROM ratings WHERE image_id=?", (image_id,))
        return (rows[0]["rating"], rows[0]["label"], rows[0]["updated_at"]) if rows else (0, None, 0.0)

    def set_rating(self, image_id: str, rating: int, at: float | None = None) -> None:
        if rating not in RATINGS:
            raise ValueError(f"a rating is 0 to 5 stars, not {rating!r}")
        _, label, _ = self.rating(image_id)
        self._set_rating_row(image_id, rating, label, at)

    def set_label(self, image_id: str, label: str | None, at: float | None = None) -> None:
        if label not in (*LABELS, None):
            raise ValueError(f"label must be one of {LABELS} or None, not {label!r}")
        rating, _, _ = self.rating(image_id)
        self._set_rating_row(image_id, rating, label, at)

    def _set_rating_row(self, image_id: str, rating: int, label: str | None, at: float | None) -> None:
        self._tx(
            "INSERT OR REPLACE INTO ratings VALUES(?,?,?,?)",
            (image_id, rating, label, time.time() if at is None else at),
        )

    def captured_at(self, image_id: str) -> str | None:
        rows = self._rows("SELECT captured_at FROM captures WHERE image_id=?", (image_id,))
        return rows[0]["captured_at"] if rows else None

    # -- XMP sidecars (engine/project/sidecars.py): what was last read or written, per image file ------
    def sidecar_record(self, rel_path: str) -> sqlite3.Row | None:
        rows = self._rows("SELECT * FROM sidecars WHERE rel_path=?", (rel_path,))
        return rows[0] if rows else None

    def save_sidecar_record(self, rel_path: str, sidecar: str, mtime_ns: int, data: dict[str, Any]) -> None:
        self._tx(
            "INSERT OR REPLACE INTO sidecars VALUES(?,?,?,?,?)",
            (rel_path, sidecar, mtime_ns, json.dumps(data), time.time()),
        )
