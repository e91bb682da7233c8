"""Write several files all or none, even under `kill -9` (the variants of one inpaint run).

Each file is first written whole (atomically) into a hidden staging folder beside the targets; then a
`COMMIT` list is written (atomically) naming staged file → target; then each file is renamed into place.
A run killed before `COMMIT` exists leaves only the staging folder, which the next run removes (none
written); one killed after it leaves a list that the next run finishes (all written). No target is ever
written over: a name already taken gets `-2`, `-3`, ... as `free_path` would.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path

from engine.runtime.atomic import atomic_write_bytes

STAGING_PREFIX = ".shootstudio-staging-"
COMMIT = "COMMIT"


def write_all_or_none(items: list[tuple[Path, bytes]]) -> list[Path]:
    """Write each (target, data) so that either every target exists afterwards or none does (a crash
    in between is settled by `recover_staged` on the folder). Targets share one folder. Returns the
    paths written (a taken name gets a free one)."""
    if not items:
        return []
    folder = items[0][0].parent
    if any(target.parent != folder for target, _ in items):
        raise ValueError("all targets of one all-or-none write share a folder")
    folder.mkdir(parents=True, exist_ok=True)
    recover_staged(folder)
    staging = folder / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        plan = []
        for index, (target, data) in enumerate(items):
            staged = f"{index:03d}{target.suffix}"
            atomic_write_bytes(staging / staged, data)
            plan.append([staged, target.name])
        atomic_write_bytes(staging / COMMIT, json.dumps(plan).encode("utf-8"))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # nothing was renamed: none written
        raise
    return _finish(staging)


def recover_staged(folder: Path) -> list[Path]:
    """Settle what a killed run left in `folder`: finish committed writes, remove the others. Only
    staging folders of processes that are gone are touched (another run may be writing now)."""
    finished: list[Path] = []
    with contextlib.suppress(OSError):
        for staging in folder.glob(f"{STAGING_PREFIX}*"):
            if staging.is_dir() and not _owner_alive(staging.name):
                if (staging / COMMIT).is_file():
                    finished += _finish(staging)
                else:
                    shutil.rmtree(staging, ignore_errors=True)
    return finished


def _finish(staging: Path) -> list[Path]:
    plan = json.loads((staging / COMMIT).read_text("utf-8"))
    written = []
    for staged, name in plan:
        source = staging / staged
        if source.exists():
            target = _free(staging.parent / name)
            os.replace(source, target)
            written.append(target)
        else:  # renamed before the crash
            written.append(staging.parent / name)
    shutil.rmtree(staging, ignore_errors=True)
    return written


def _free(target: Path) -> Path:
    candidate, counter = target, 2
    while candidate.exists():
        candidate = target.with_name(f"{target.stem}-{counter}{target.suffix}")
        counter += 1
    return candidate


def _owner_alive(name: str) -> bool:
    try:
        pid = int(name.removeprefix(STAGING_PREFIX).split("-")[0])
    except ValueError:
        return False
    if pid == os.getpid():
        return False  # this process is here to recover: its own earlier staging is not in use
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
