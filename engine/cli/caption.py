"""`caption FOLDER [--tag TOKEN]`: BLIP captions as .txt files beside the images (kohya convention)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.common import add_common_arguments, open_engine, run_job

HELP = "write a BLIP caption .txt beside each image"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument("--tag", metavar="TOKEN", help="activation tag put before each caption")
    parser.add_argument("--overwrite", action="store_true", help="replace existing captions")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from engine.api import CaptionRequest
    from engine.imaging.read import list_images
    from engine.training.captions import CaptionError

    if not args.folder.is_dir():
        raise CaptionError(f"Not a folder: {args.folder}")
    if not list_images(args.folder):  # before loading BLIP
        raise CaptionError(f"No images in {args.folder} (looked for .jpg, .png, .tif, .webp ...).")
    engine = open_engine(args)
    code, report = run_job(engine, engine.caption(CaptionRequest(args.folder, args.tag, args.overwrite)))
    if report is not None:
        for problem in report.problems:
            print(f"skipped: {problem}", file=sys.stderr)
        print(report.summary())
    return code
