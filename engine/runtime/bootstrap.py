"""Create and refresh the app's own virtual environment on first use (standard library only).

`python3 main.py` and `python3 -m tests` call `ensure_environment` before importing anything that is not
in the standard library. Run from a system interpreter, it creates `.venv` beside the project (or
`$SHOOTSTUDIO_VENV`), installs the project into it, and re-executes the same command there. Run from any
other virtual environment (or a frozen build), it trusts that environment and does nothing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STAMP_NAME = ".shootstudio-installed"


def venv_dir() -> Path:
    return Path(os.environ.get("SHOOTSTUDIO_VENV", PROJECT_ROOT / ".venv")).resolve()


def _venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp(extras: tuple[str, ...]) -> str:
    digest = hashlib.sha256((PROJECT_ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} {','.join(sorted(extras))}"


def _installed_extras(stamp_file: Path) -> tuple[str | None, set[str]]:
    if not stamp_file.exists():
        return None, set()
    digest, _, extras = stamp_file.read_text().strip().partition(" ")
    return digest, {e for e in extras.split(",") if e}


def _inside(root: Path) -> bool:
    return Path(sys.prefix).resolve() == root


def ensure_environment(extras: tuple[str, ...], reexec_args: list[str]) -> None:
    """Make sure the project's venv holds the project with `extras`; re-exec into it if needed.

    `reexec_args` are the interpreter arguments that repeat the current command (e.g. ["-m", "tests"]).
    """
    root = venv_dir()
    if getattr(sys, "frozen", False):
        return
    if sys.prefix != sys.base_prefix and not _inside(root):
        return  # the user chose their own environment; respect it

    stamp_file = root / STAMP_NAME
    digest, have = _installed_extras(stamp_file)
    want_digest = _wanted_stamp(extras).split(" ")[0]
    if digest != want_digest or not set(extras) <= have:
        _install(root, tuple(sorted(set(extras) | have)), stamp_file)
    if not _inside(root):
        python = str(_venv_python(root))
        os.execv(python, [python, *reexec_args])


def _install(root: Path, extras: tuple[str, ...], stamp_file: Path) -> None:
    first = not _venv_python(root).exists()
    print(
        f"ShootStudio: {'creating' if first else 'updating'} its environment in {root} "
        "(first run takes a few minutes)...",
        file=sys.stderr,
        flush=True,
    )
    if first:
        venv.EnvBuilder(with_pip=True).create(root)
    spec = f"{PROJECT_ROOT}[{','.join(extras)}]" if extras else str(PROJECT_ROOT)
    command = [str(_venv_python(root)), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    result = subprocess.run([*command, "-e", spec], check=False)
    if result.returncode != 0:
        sys.exit(
            f"ShootStudio: installing the dependencies failed (pip exit {result.returncode}). "
            "Check the network connection to the package index and run the command again."
        )
    stamp_file.write_text(_wanted_stamp(extras) + "\n")
