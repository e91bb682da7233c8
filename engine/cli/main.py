"""The command-line interface: `python main.py SUBCOMMAND ...` (no Qt is imported here).

Exit codes: 0 done, 1 the job failed, 2 bad usage or input, 3 missing models.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import os
import sys
import warnings

from engine.cli.common import EXIT_FAILED, EXIT_USAGE, UsageError, report_error

# subcommand -> module in engine.cli
COMMANDS = {
    "models": "models",
    "filter": "filter",
    "inpaint": "inpaint",
    "generate": "generate",
    "caption": "caption",
    "train-lora": "train_lora",
    "export": "export",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="ShootStudio: review product shoots. With no subcommand, the desktop app opens.",
        epilog="Exit codes: 0 done, 1 the job failed, 2 bad usage or input, 3 missing models.",
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    gui = sub.add_parser("gui", help="open the desktop app (the default), optionally on FOLDER")
    gui.add_argument("folder", nargs="?", metavar="FOLDER")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"engine.cli.{module_name}")
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def _quiet_libraries(command: str) -> None:
    # Library chatter (deprecations, per-component load bars) would bury the app's own messages.
    if command != "models":  # only `models download` may use the network
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.getLogger("root").setLevel(logging.ERROR)


def _check_numbers(args: argparse.Namespace) -> None:
    """No option takes NaN or infinity (argparse's float() accepts both; a NaN scale painted garbage)."""
    for name, value in vars(args).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"--{name.replace('_', '-')} {value}: give a finite number")


def _printable_streams() -> None:
    # A file name that is not valid UTF-8 (caf\xe9.jpg) must not crash a print: where the streams
    # would refuse it (a strict UTF-8 locale), it is shown escaped instead.
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "gui":
        print("error: the GUI starts from main.py (`python main.py gui [FOLDER]`).", file=sys.stderr)
        return EXIT_USAGE
    _quiet_libraries(args.command)
    _printable_streams()
    try:
        _check_numbers(args)
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # every failure leaves as one line and an exit code, not a traceback
        if os.environ.get("SHOOTSTUDIO_DEBUG"):
            raise
        return report_error(error)


if __name__ == "__main__":
    sys.exit(main())
