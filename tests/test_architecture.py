"""The architecture rules hold and are enforced: each import-linter contract fails when a probe breaks it,
and the GUI starts without torch or a model library until the first model job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# (file to add or extend, import it makes, the contract that must then fail)
PROBES = {
    "gui imports torch": ("gui/probe.py", "import torch", "The GUI never imports torch"),
    "gui bypasses engine.api": (
        "gui/probe.py",
        "from engine.diffusion.enhance import enhance",
        "The GUI reaches the engine only through engine.api",
    ),
    "the engine imports Qt": ("engine/runtime/probe.py", "import PySide6", "The engine never imports Qt"),
    "a lower engine layer imports a higher one": (
        "engine/project/probe.py",
        "from engine.filter import verdict",
        "Engine packages are layers",
    ),
}


def lint_copy(tmp_path: Path, probe: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run lint-imports on a copy of engine/, gui/ and pyproject.toml, with an optional probe module."""
    for name in ("engine", "gui"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if probe is not None:
        path, statement = probe
        (tmp_path / path).write_text(statement + "\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_contracts_hold_on_the_tree(tmp_path):
    result = lint_copy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("probe", PROBES, ids=list(PROBES))
def test_each_contract_fails_on_a_probe_that_breaks_it(tmp_path, probe):
    path, statement, contract = PROBES[probe]
    result = lint_copy(tmp_path, (path, statement))
    assert result.returncode != 0, result.stdout
    broken = result.stdout.partition("Broken contracts")[2]  # the contracts broken, with the imports
    assert contract in broken and "probe" in broken, result.stdout


HEAVY = ("torch", "torchvision", "diffusers", "transformers", "peft", "segment_anything", "open_clip")

START_WINDOW = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from gui.app import create_application
    from gui.main_window import MainWindow
    from engine.api import load_models

    heavy = {heavy!r}
    app = create_application()
    window = MainWindow(models=load_models(sys.argv[1]))
    window.show()
    for _ in range(20):
        app.processEvents()
    shown = sorted(m for m in heavy if m in sys.modules)
    job = window.engine.load_sam(Path(sys.argv[2]))
    window.engine.run(job)
    after_job = sorted(m for m in heavy if m in sys.modules)
    window.shutdown_engine()
    print(json.dumps({{"shown": shown, "after_job": after_job, "job": type(job.outcome).__name__}}))
    """
).format(heavy=HEAVY)


def test_the_window_shows_without_torch_until_the_first_model_job(tiny_models, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", START_WINDOW, str(tiny_models), str(folder)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["shown"] == []  # the window, shown: no model library
    assert report["job"] == "Succeeded" and "torch" in report["after_job"]  # the first model job loads it
