"""`generate --prompt TEXT --out DIR`: text-to-image product visuals with SD 1.5 + LoRA.

The prompt is a template: `{class}` is replaced by each `--class` in turn (`--count` images each).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.common import add_common_arguments, open_engine, run_job

HELP = "generate product visuals from a prompt (SD 1.5 + LoRA)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.diffusion.recipes import SCHEDULER_CHOICES  # torch-free: --help stays fast

    parser.add_argument(
        "--prompt", required=True, metavar="TEXT", help="prompt; `{class}` is filled per class"
    )
    parser.add_argument(
        "--class",
        dest="classes",
        action="append",
        default=[],
        metavar="NAME",
        help="product class for `{class}` (repeat, or comma-separate: --class 'hand bag,shoe')",
    )
    parser.add_argument("--negative", default="", metavar="TEXT", help="negative prompt")
    parser.add_argument("--lora", action="append", default=[], metavar="FILE[:SCALE]")
    parser.add_argument("--count", type=int, default=1, metavar="N", help="images per class (default 1)")
    parser.add_argument("--width", type=int, default=512, metavar="W")
    parser.add_argument("--height", type=int, default=512, metavar="H")
    parser.add_argument("--steps", type=int, default=30, metavar="N")
    parser.add_argument("--guidance", type=float, default=7.5, metavar="G")
    parser.add_argument("--scheduler", choices=SCHEDULER_CHOICES, default=SCHEDULER_CHOICES[0])
    parser.add_argument("--seed", type=int, metavar="N", help="first seed (the next images count up)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from engine.api import GenerateRequest, parse_lora_arg

    request = GenerateRequest(
        template=args.prompt,
        classes=[c for value in args.classes for c in value.split(",")],
        negative_prompt=args.negative,
        width=args.width,
        height=args.height,
        steps=args.steps,
        guidance=args.guidance,
        scheduler=args.scheduler,
        seed=args.seed,
        count=args.count,
        loras=[parse_lora_arg(text) for text in args.lora],
        out_dir=args.out,
    )
    request.validate()  # bad settings fail before any model loads
    engine = open_engine(args)
    code, results = run_job(engine, engine.generate(request))
    for image in results or []:
        print(image.path)
    return code
