"""`filter FOLDER`: find the product in every image of a shoot (SAM proposals + CLIP classes)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands.common import add_common_arguments

HELP = "decide per image: product found (with masks) or skipped"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument("--classes", help='comma-separated product classes, e.g. "hand bag,shoe"')
    parser.add_argument("--report", type=Path, metavar="FILE.json", help="write a machine-readable report")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("filter is not implemented yet (issue: product filter)")
