#!/usr/bin/env python3
"""ShootStudio: `python main.py` opens the desktop app; `python main.py SUBCOMMAND` runs the CLI.

The first run from a plain Python creates the app's own environment (.venv) and installs what it needs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.runtime.bootstrap import ensure_environment  # standard library only


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ensure_environment((), [str(Path(__file__).resolve()), *argv])
    wants_help = any(arg in ("-h", "--help") for arg in argv)
    if not argv or (argv[0] == "gui" and not wants_help):  # `gui --help` is the parser's to answer
        from gui.app import main as gui_main

        return gui_main(argv[1:2] if argv else [])
    from engine.cli.main import main as cli_main  # never imports Qt

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
