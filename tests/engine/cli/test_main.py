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


def run_main_py(*args: str) -> str:
    """`python main.py ARGS` in a fresh interpreter; its stdout, then 'EXIT code', then which of Qt and
    torch it imported ('QT'/'NOQT', 'TORCH'/'NOTORCH')."""
    code = (
        f"import sys, runpy; sys.argv=['main.py', *{list(args)!r}]"
        "\ntry:\n    runpy.run_path('main.py', run_name='__main__')"
        "\nexcept SystemExit as e: print('EXIT', e.code)\n"
        "print('QT' if any(m.startswith('PySide6') for m in sys.modules) else 'NOQT',"
        " 'TORCH' if 'torch' in sys.modules else 'NOTORCH')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return result.stdout.strip()


def test_main_py_runs_the_cli_without_importing_qt():
    out = run_main_py("models", "--help")
    assert "make-tiny" in out
    # No Qt in the CLI ever; and no torch just to print help (it costs seconds).
    assert out.endswith("NOQT NOTORCH")


def test_gui_help_prints_the_usage_without_opening_a_window():
    out = run_main_py("gui", "--help")
    assert "usage: main.py gui" in out
    assert out.endswith("EXIT 0\nNOQT NOTORCH")
