"""The command-line contract of ARCHITECTURE.md: subcommands, their help, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli.main import main as cli

ROOT = Path(__file__).resolve().parents[3]
SUBCOMMANDS = ["gui", "models", "filter", "inpaint", "generate", "caption", "train-lora"]


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"    {name}" in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_its_own_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli([name, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: main.py {name}" in capsys.readouterr().out


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(["inpaint"])
    assert exit_info.value.code == 2


def test_main_py_runs_the_cli_without_importing_qt():
    code = (
        "import sys, runpy; sys.argv=['main.py','models','--help'];"
        "\ntry:\n    runpy.run_path('main.py', run_name='__main__')\nexcept SystemExit: pass\n"
        "print('QT' if any(m.startswith('PySide6') for m in sys.modules) else 'NOQT',"
        " 'TORCH' if 'torch' in sys.modules else 'NOTORCH')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "make-tiny" in result.stdout
    # No Qt in the CLI ever; and no torch just to print help (it costs seconds).
    assert result.stdout.strip().endswith("NOQT NOTORCH")


def test_gui_help_prints_the_usage_without_opening_a_window():
    code = (
        "import sys, runpy; sys.argv=['main.py','gui','--help'];"
        "\ntry:\n    runpy.run_path('main.py', run_name='__main__')"
        "\nexcept SystemExit as e: print('EXIT', e.code)\n"
        "print('QT' if any(m.startswith('PySide6') for m in sys.modules) else 'NOQT')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "usage: main.py gui" in result.stdout
    assert result.stdout.strip().endswith("EXIT 0\nNOQT")
