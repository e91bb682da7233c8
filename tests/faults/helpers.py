"""Helpers for the fault suite: broken models files, a CLI run that captures its one line, a tiny shoot."""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w

from engine.cli.main import main as cli
from tests.fixtures.filter import shoot_image

TINY_SAM_ARGS = ["--points-per-side", "2", "--iou-thresh", "0", "--stability-thresh", "0"]


def models_file(tiny_models: Path, folder: Path, **roles: dict) -> Path:
    """A models.toml with the tiny models' entries (absolute paths), each role in `roles` updated."""
    data = tomllib.loads(Path(tiny_models).read_text(encoding="utf-8"))
    for entry in data.values():
        path = Path(entry["path"])
        entry["path"] = str(path if path.is_absolute() else Path(tiny_models).parent / path)
        if "config" in entry:
            entry["config"] = str(Path(tiny_models).parent / entry["config"])
    for role, changes in roles.items():
        data[role].update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "models.toml"
    target.write_text(tomli_w.dumps(data), encoding="utf-8")
    return target


def small_shoot(folder: Path, count: int = 2) -> Path:
    for index in range(count):
        shoot_image(folder / f"img{index}.png", color=(200 - 30 * index, 40, 20 + 30 * index))
    return folder


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """Run `main.py ARGV` in this process; returns (exit code, stdout, the error lines of stderr)."""
    try:
        code = cli([str(a) for a in argv])
    except SystemExit as exit_info:  # argparse's own usage errors
        code = exit_info.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    errors = [line for line in err.splitlines() if line.startswith("error:") or "error:" in line[:40]]
    return code, out, "\n".join(errors)
