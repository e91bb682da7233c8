"""`caption FOLDER [--tag TOKEN]`: BLIP captions as .txt files beside the images (kohya convention)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.common import add_common_arguments, open_registry, run_job

HELP = "write a BLIP caption .txt beside each image"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument("--tag", metavar="TOKEN", help="activation tag put before each caption")
    parser.add_argument("--overwrite", action="store_true", help="replace existing captions")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from engine.imaging.read import list_images
    from engine.training.captions import CaptionError, caption_job

    if not args.folder.is_dir():
        raise CaptionError(f"Not a folder: {args.folder}")
    if not list_images(args.folder):  # before loading BLIP
        raise CaptionError(f"No images in {args.folder} (looked for .jpg, .png, .tif, .webp ...).")
    code, report = run_job(
        caption_job(args.folder, open_registry(args), tag=args.tag, overwrite=args.overwrite)
    )
    if report is not None:
        for problem in report.problems:
            print(f"skipped: {problem}", file=sys.stderr)
        print(report.summary())
    return code
