"""`caption FOLDER [--tag TOKEN]`: BLIP captions as .txt files beside the images (kohya convention)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands.common import add_common_arguments

HELP = "write a BLIP caption .txt beside each image"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument("--tag", metavar="TOKEN", help="activation tag put before each caption")
    parser.add_argument("--overwrite", action="store_true", help="replace existing captions")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("caption is not implemented yet (issue: generation and LoRA)")
