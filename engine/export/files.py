"""Where exported files go: a folder outside the shoot, names that never overwrite, atomic writes, and a
full disk reported in plain words with no partial file left behind."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from engine.runtime.atomic import atomic_save
from engine.runtime.jobs import EngineError


class ExportError(EngineError):
    """An export that cannot go on; the message says what to change (exit code 2: bad input)."""

    exit_code = 2


class DiskFullError(ExportError):
    exit_code = 1


def check_destination(out_dir: Path, shoot: Path) -> Path:
    """`out_dir` resolved; refused inside the shoot folder (it would mix outputs with originals and be
    listed as new images) or when it is a file."""
    out, shoot = Path(out_dir).expanduser().resolve(), Path(shoot).resolve()
    if out == shoot or shoot in out.parents:
        raise ExportError(f"Export folder {out} is inside the shoot {shoot}: choose a folder outside it.")
    if out.exists() and not out.is_dir():
        raise ExportError(f"Export folder {out} is a file; give a folder.")
    return out


class ExportWriter:
    """Writes into one export folder: `name` gets `-2`, `-3`... rather than replace a file, including one
    this export wrote a moment ago."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.written: list[Path] = []

    def free_path(self, name: str) -> Path:
        target = self.out_dir / name
        stem, suffix, counter = target.stem, target.suffix, 2
        while target.exists():
            target = target.with_name(f"{stem}-{counter}{suffix}")
            counter += 1
        return target

    def write(self, name: str, save: Callable[[BinaryIO], None]) -> Path:
        target = self.free_path(name)
        try:
            atomic_save(target, save)  # the temporary file is removed on any error
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(
                    f"Disk full writing {target.name} in {self.out_dir}: free some space and export again "
                    f"({len(self.written)} files were written; none is partial)."
                ) from error
            raise ExportError(f"Cannot write {target}: {error.strerror or error}") from error
        self.written.append(target)
        return target

    def write_bytes(self, name: str, data: bytes) -> Path:
        return self.write(name, lambda handle: handle.write(data))


def render_name(pattern: str, **values: object) -> str:
    """`pattern` with {stem}, {class}, {index}... filled; characters a file name cannot hold become '_'."""
    try:
        name = pattern.format(**values)
    except (KeyError, IndexError, ValueError) as error:
        raise ExportError(
            f"Naming pattern {pattern!r}: unknown field {error}; use {{stem}}, {{class}}, {{index}}."
        ) from error
    return "".join("_" if c in '/\\:*?"<>|' else c for c in name).strip() or "image"
