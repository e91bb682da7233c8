"""`train-lora FOLDER --tag TOKEN --out FILE.safetensors`: train a product LoRA on SD 1.5."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands.common import add_common_arguments

HELP = "train a LoRA from a folder of product photos"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument("--tag", required=True, metavar="TOKEN")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.safetensors")
    parser.add_argument("--rank", type=int, default=16, metavar="R")
    parser.add_argument("--epochs", type=int, default=10, metavar="E")
    parser.add_argument("--repeats", type=int, default=6, metavar="K")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("train-lora is not implemented yet (issue: generation and LoRA)")
