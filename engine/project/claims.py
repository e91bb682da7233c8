"""Claims: parallel runs (two CLIs, CLI + GUI) on one folder split the work instead of repeating it.

A mixin of `ProjectStore` (engine/project/store.py): it uses the store's `_db`, `_lock` and `_tx`."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid


class ClaimRecords:
    def claim(self, image_id: str, run_key: str, owner: str) -> bool:
        """Take the image for this run, unless it already has a result or another live run is on it.

        `owner` names the caller (`claim_owner()`). A claim whose process is gone (same machine) or that
        is older than CLAIM_STALE_S (another machine sharing the folder) is taken over."""
        now = time.time()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")  # one writer decides: no two runs take the same image
            done = self._db.execute(
                "SELECT 1 FROM results WHERE image_id=? AND run_key=?", (image_id, run_key)
            ).fetchone()
            if done:
                return False
            row = self._db.execute(
                "SELECT owner, host, pid, claimed_at FROM claims WHERE image_id=? AND run_key=?",
                (image_id, run_key),
            ).fetchone()
            if row and row["owner"] != owner and not _claim_is_stale(row, now):
                return False
            host, pid = _HOST, os.getpid()
            self._db.execute(
                "INSERT OR REPLACE INTO claims VALUES(?,?,?,?,?,?)",
                (image_id, run_key, owner, host, pid, now),
            )
            return True

    def release(self, image_id: str, run_key: str, owner: str) -> None:
        self._tx("DELETE FROM claims WHERE image_id=? AND run_key=? AND owner=?", (image_id, run_key, owner))


CLAIM_STALE_S = 3600.0  # a claim from another machine is taken over after this long
_HOST = socket.gethostname()


def claim_owner() -> str:
    """A name for one run: host, process and a random part (two runs in one process differ)."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim_is_stale(row: sqlite3.Row, now: float) -> bool:
    if row["host"] == _HOST:
        try:
            os.kill(int(row["pid"]), 0)
        except ProcessLookupError:
            return True  # that run was killed: its image is free
        except (PermissionError, OSError, ValueError):
            pass
        else:
            return False
    return now - float(row["claimed_at"] or 0) > CLAIM_STALE_S
