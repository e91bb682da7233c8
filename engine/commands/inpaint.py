"""`inpaint IMAGE --mask MASK.png --prompt TEXT --out PATH`: enhance the masked product."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands.common import add_common_arguments

HELP = "repaint the masked product with SD 1.5 inpainting + depth ControlNet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, metavar="IMAGE")
    parser.add_argument("--mask", type=Path, required=True, metavar="MASK.png")
    parser.add_argument("--prompt", required=True, metavar="TEXT")
    parser.add_argument("--lora", action="append", default=[], metavar="FILE[:SCALE]")
    parser.add_argument("--control", choices=("depth", "none"), default="depth")
    parser.add_argument("--strength", type=float, default=0.75, metavar="S")
    parser.add_argument("--steps", type=int, default=30, metavar="N")
    parser.add_argument("--guidance", type=float, default=7.5, metavar="G")
    parser.add_argument("--seed", type=int, metavar="N")
    parser.add_argument("--variants", type=int, default=1, metavar="K")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("inpaint is not implemented yet (issue: enhancement)")
