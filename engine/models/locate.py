"""Find a role's weights on disk: a local file or folder, or a hub id already in the local HF cache."""

from __future__ import annotations

import os
from pathlib import Path

from engine.models.config import ModelsConfig, RoleSpec
from engine.models.errors import MissingModel, ModelError, cli_name


def resolve(spec: RoleSpec, *, want_dir: bool | None = None) -> Path:
    """The local path that holds `spec`'s weights. Never touches the network.

    `want_dir`: True when the role needs a folder, False for a file, None for either.
    """
    local = spec.local_path()
    if local.exists():
        if want_dir is True and not local.is_dir() and local.suffix not in (".safetensors", ".ckpt"):
            raise MissingModel(spec.role, str(local), "expected a folder (diffusers/transformers format)")
        if want_dir is False and local.is_dir():
            raise MissingModel(spec.role, str(local), "expected a weights file, found a folder")
        return local
    if spec.looks_like_hub_id():

        def missing(why: str) -> MissingModel:
            fix = f"run `{cli_name()} models download {spec.role}` or `huggingface-cli download {spec.path}`"
            return MissingModel(spec.role, f"{spec.path} (Hugging Face cache)", f"{fix} ({why})")

        if _surely_not_cached(spec.path):
            raise missing("not in the cache")
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            return Path(snapshot_download(spec.path, local_files_only=True))
        except (LocalEntryNotFoundError, OSError, ValueError) as error:
            raise missing(type(error).__name__) from error
    raise MissingModel(spec.role, str(local))


def _surely_not_cached(repo_id: str) -> bool:
    """True when no Hugging Face cache folder holds `repo_id` (its `models--org--name` folder), so the
    answer needs no huggingface_hub import (~0.5 s, which the GUI's start-up check would pay)."""
    home = Path(
        os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "huggingface"
    )
    caches = [os.environ.get("HF_HUB_CACHE"), os.environ.get("HUGGINGFACE_HUB_CACHE"), home / "hub"]
    folder = "models--" + repo_id.replace("/", "--")
    return not any((Path(c).expanduser() / folder).exists() for c in caches if c)


# Roles whose weights are one file (a folder there is a mistake); the others are folders or either.
FILE_ROLES = frozenset({"sam", "clip"})


def role_problem(config: ModelsConfig, role: str) -> str | None:
    """None when `role`'s weights are found, else the message that names the role, the path and the fix.

    Cheap and torch-free: the GUI asks it to enable or explain its model actions."""
    try:
        resolve(config.spec(role), want_dir=False if role in FILE_ROLES else None)
    except ModelError as error:
        return str(error)
    return None
