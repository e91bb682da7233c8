"""Atomic file writes: write a temporary file beside the target, fsync, then rename over it.

A crash or a full disk leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_writer(path: Path | str) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it replaces `path`, on any error the target is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's pid in the name: a sweep after a kill -9 can tell a dead writer's leftover from a live one.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes 0600; a finished file gets what open() would give it (0666 less the umask),
        # so another user's A1111, ComfyUI or Lightroom can read what the app wrote.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def remove_dead_temps(folder: Path | str) -> list[Path]:
    """Delete the temp files that killed writers left in `folder` (a live process's are kept)."""
    removed = []
    for temp in Path(folder).glob(".*.tmp"):
        match = _TEMP_NAME.match(temp.name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                temp.unlink()
                removed.append(temp)
    return removed


_TEMP_NAME = re.compile(r"^\..+\.(\d+)-[^.]+\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process's own temps are in use by one of its writers
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by another user
    return True


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask alone must set it)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    with atomic_writer(path) as handle:
        handle.write(data)
    return Path(path)


def atomic_save(path: Path | str, save: Callable[[BinaryIO], None]) -> Path:
    """Run `save(handle)` (e.g. `lambda f: image.save(f, format="PNG")`) into a temp file, then rename."""
    with atomic_writer(path) as handle:
        save(handle)
    return Path(path)
