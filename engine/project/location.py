"""Where a shoot's project store lives, and an image's identity (its content hash)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import platformdirs

STORE_DIRNAME = ".shootstudio"
HASH_CHUNK = 1 << 20


def content_hash(path: Path) -> str:
    """32 hex digits of BLAKE2b over the file's bytes: the image's identity, whatever its name."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=False, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
        return True
    except OSError:
        return False


def store_root_for(folder: Path) -> Path:
    """FOLDER/.shootstudio when writable, else a directory under the user's data dir for this folder."""
    folder = folder.resolve()
    local = folder / STORE_DIRNAME
    if _writable_dir(local):
        return local
    return fallback_root(folder)


def fallback_root(folder: Path) -> Path:
    """The store's place under the user's data dir, for a folder that cannot hold it (read-only, full)."""
    # os.fsencode: a folder name that is not valid UTF-8 (caf\xe9) still gets its own stable tag
    tag = hashlib.sha1(os.fsencode(folder.resolve())).hexdigest()[:16]
    fallback = Path(platformdirs.user_data_dir("ShootStudio", appauthor=False)) / "projects" / tag
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback
