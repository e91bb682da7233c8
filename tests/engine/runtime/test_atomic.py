"""Atomic writes: a failed write leaves the old file intact and no temporary file behind."""

from __future__ import annotations

import os
import stat

import pytest

from engine.runtime.atomic import atomic_save, atomic_write_bytes, remove_dead_temps


def test_a_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "sub" / "record.json"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "mask.png"
    target.write_bytes(b"old mask")

    def explode(handle):
        handle.write(b"half a ma")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_save(target, explode)
    assert target.read_bytes() == b"old mask"
    assert [p.name for p in tmp_path.iterdir()] == ["mask.png"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_written_file_gets_the_mode_the_umask_allows_not_mkstemps_0600(tmp_path, umask):
    old = os.umask(umask)
    try:
        target = atomic_write_bytes(tmp_path / "out.png", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_a_sweep_removes_a_dead_writers_temp_file_and_keeps_a_live_ones(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    leftover = tmp_path / f".out.png.{int(dead.stdout)}-abc123.tmp"  # a writer killed mid-write
    live = tmp_path / f".out.png.{os.getpid()}-def456.tmp"  # this process, still writing
    leftover.write_bytes(b"half")
    live.write_bytes(b"half")
    assert remove_dead_temps(tmp_path) == [leftover]
    assert not leftover.exists() and live.exists()
