"""Stars, colour labels and capture times in the project store; an older store gains them additively."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PIL import Image

from engine.project.store import ProjectStore


def _image(path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    return path


def test_ratings_and_labels_are_kept_and_checked(tmp_path):
    with ProjectStore.open(tmp_path) as store:
        image_id = store.register(_image(tmp_path / "a.png"))
        assert store.rating(image_id) == (0, None, 0.0)
        store.set_rating(image_id, 4)
        store.set_label(image_id, "yellow")
        stars, label, when = store.rating(image_id)
        assert (stars, label) == (4, "yellow") and when > 0
        entry = store.images()[0]
        assert (entry.rating, entry.label) == (4, "yellow") and entry.decided_at == when
        with pytest.raises(ValueError, match="0 to 5"):
            store.set_rating(image_id, 6)
        with pytest.raises(ValueError, match="label"):
            store.set_label(image_id, "pink")
        store.set_label(image_id, None)
        assert store.rating(image_id)[:2] == (4, None)


def test_a_store_from_before_ratings_opens_and_gains_them(tmp_path):
    root = tmp_path / ".shootstudio"
    root.mkdir()
    with sqlite3.connect(root / "project.db") as db:  # the version-1 tables only, with a flag in them
        db.executescript(
            """CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
            INSERT INTO meta VALUES('schema_version', '1');
            CREATE TABLE files(rel_path TEXT PRIMARY KEY, image_id TEXT NOT NULL, size INTEGER,
                mtime_ns INTEGER, seen_at REAL);
            CREATE TABLE flags(image_id TEXT PRIMARY KEY, flag TEXT CHECK(flag IN ('pick', 'reject')),
                updated_at REAL);
            INSERT INTO flags VALUES('abc', 'pick', 1.0);"""
        )
    db.close()
    with ProjectStore.open(tmp_path) as store:
        assert store.flag("abc") == "pick"
        store.set_rating("abc", 2)
        assert store.rating("abc")[0] == 2
