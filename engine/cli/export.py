"""`export FOLDER --out DIR`: hand the selected images to other tools.

Writes, per image, `NAME_mask.png` (8-bit, the original's size and orientation), a cut-out as the preset
says (PNG/WebP with alpha, or on a background colour), `NAME.json` (LabelMe polygons); then
`annotations_coco.json` (COCO instances, RLE) and `manifest.csv` / `manifest.json`. Nothing is ever
overwritten (`-2`, `-3`... are added). Images without a mask, and those failing the preset's preflight,
are listed and skipped.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from engine.cli.common import EXIT_FAILED, EXIT_OK, add_common_arguments, open_engine, run_job

HELP = "export masks, cut-outs, COCO/LabelMe JSON and a manifest for the selected images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.export.presets import BUILTIN
    from engine.export.selection import SELECT_HELP

    parser.add_argument("folder", type=Path, metavar="FOLDER", help="the shoot folder")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="export folder (outside FOLDER)"
    )
    parser.add_argument(
        "--select", default="picked", metavar="WHICH", help=f"{SELECT_HELP} (default: picked)"
    )
    parser.add_argument("--image", dest="images", action="append", type=Path, metavar="FILE",
                        help="export exactly these images (repeat); overrides --select")  # fmt: skip
    parser.add_argument(
        "--preset",
        metavar="NAME|FILE.toml[:NAME]",
        help="built in: " + "; ".join(f"'{name}'" for name in BUILTIN),
    )
    for name, what in (
        ("masks", "8-bit PNG masks at the original size"),
        ("cutouts", "cut-outs"),
        ("coco", "COCO instance JSON"),
        ("labelme", "LabelMe JSON per image"),
    ):
        parser.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=None, help=what)
    parser.add_argument("--soft-edges", type=int, default=None, metavar="PX",
                        help="cut-out alpha from the matting model in a band of PX at the edge "
                        "(0: the mask's own edge; default: the preset's)")  # fmt: skip
    parser.add_argument("--preflight", action="store_true", help="check against the preset, write nothing")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from engine.api import ExportRequest
    from engine.export.files import check_destination
    from engine.export.presets import resolve_preset

    if not args.folder.is_dir():
        from engine.cli.common import UsageError

        raise UsageError(f"{args.folder} is not a folder.")
    preset = resolve_preset(args.preset)  # a bad preset or destination fails before anything starts
    if args.soft_edges is not None:
        preset = replace(preset, soft_edges=args.soft_edges).validate()
    check_destination(args.out, args.folder)
    request = ExportRequest(
        folder=args.folder,
        out_dir=args.out,
        select=args.select,
        paths=args.images,
        preset=preset,
        masks=args.masks,
        cutouts=args.cutouts,
        coco=args.coco,
        labelme=args.labelme,
        preflight_only=args.preflight,
    )
    engine = open_engine(args)
    code, report = run_job(engine, engine.export(request))
    if report is None:
        return code
    for row in report.rows:
        if row.status != "exported":
            print(f"{row.status}: {row.file}: {'; '.join(row.problems)}")
    print(report.summary())
    return EXIT_OK if not args.preflight or all(r.status == "exported" for r in report.rows) else EXIT_FAILED
