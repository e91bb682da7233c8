"""The project store's SQLite schema, and the additive migration an older store gets on open."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files(
    rel_path TEXT PRIMARY KEY, image_id TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, seen_at REAL);
CREATE INDEX IF NOT EXISTS files_by_image ON files(image_id);
CREATE TABLE IF NOT EXISTS results(
    image_id TEXT, run_key TEXT, status TEXT NOT NULL, error TEXT, width INTEGER, height INTEGER,
    info TEXT, created_at REAL, PRIMARY KEY(image_id, run_key));
CREATE TABLE IF NOT EXISTS regions(
    image_id TEXT, run_key TEXT, idx INTEGER, box TEXT, area INTEGER, pred_iou REAL, stability REAL,
    mask_path TEXT, scores TEXT, PRIMARY KEY(image_id, run_key, idx));
CREATE TABLE IF NOT EXISTS verdicts(
    image_id TEXT PRIMARY KEY, run_key TEXT, verdict TEXT NOT NULL, classes TEXT, regions TEXT,
    best TEXT, reason TEXT, decided_at REAL);
CREATE TABLE IF NOT EXISTS edited_masks(image_id TEXT PRIMARY KEY, mask_path TEXT, updated_at REAL);
CREATE TABLE IF NOT EXISTS flags(
    image_id TEXT PRIMARY KEY, flag TEXT CHECK(flag IN ('pick', 'reject')), updated_at REAL);
CREATE TABLE IF NOT EXISTS claims(
    image_id TEXT, run_key TEXT, owner TEXT NOT NULL, host TEXT, pid INTEGER, claimed_at REAL,
    PRIMARY KEY(image_id, run_key));
CREATE TABLE IF NOT EXISTS recipes(
    id INTEGER PRIMARY KEY AUTOINCREMENT, image_id TEXT, name TEXT, data TEXT, created_at REAL);
CREATE TABLE IF NOT EXISTS ratings(
    image_id TEXT PRIMARY KEY, rating INTEGER NOT NULL DEFAULT 0 CHECK(rating BETWEEN 0 AND 5),
    label TEXT, updated_at REAL);
CREATE TABLE IF NOT EXISTS captures(image_id TEXT PRIMARY KEY, captured_at TEXT);
CREATE TABLE IF NOT EXISTS sidecars(
    rel_path TEXT PRIMARY KEY, sidecar TEXT, mtime_ns INTEGER, data TEXT, updated_at REAL);
"""
# Tables added after version 1 (ratings, captures, sidecars) are created by the same IF NOT EXISTS
# script on an older store: the migration is additive, so the version stays.


# Columns added after a store's first release: (table, column, declaration). A store made before them
# gains them on open (NULL for rows written earlier); older code reading by name ignores them.
ADDED_COLUMNS = (
    # Original-image pixels per mask pixel of a filter region (masks are kept at the filter's working
    # size; boxes and areas are in mask pixels). NULL in older stores: results.width / info.work_size.
    ("regions", "mask_scale", "REAL"),
)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            try:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            except sqlite3.OperationalError as error:  # another process opening the store added it first
                if "duplicate column" not in str(error):
                    raise


def create_or_migrate(db: sqlite3.Connection) -> None:
    """Create the tables a fresh store needs, and add to an older one what it lacks (never removes)."""
    db.executescript(SCHEMA)
    db.execute("INSERT OR IGNORE INTO meta VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
    _add_missing_columns(db)
