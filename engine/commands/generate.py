"""`generate --prompt TEXT --out DIR`: text-to-image product visuals with SD 1.5 + LoRA."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands.common import add_common_arguments

HELP = "generate product visuals from a prompt (SD 1.5 + LoRA)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", required=True, metavar="TEXT")
    parser.add_argument("--lora", action="append", default=[], metavar="FILE[:SCALE]")
    parser.add_argument("--count", type=int, default=1, metavar="N")
    parser.add_argument("--steps", type=int, default=30, metavar="N")
    parser.add_argument("--seed", type=int, metavar="N")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("generate is not implemented yet (issue: generation and LoRA)")
