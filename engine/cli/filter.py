"""`filter FOLDER`: find the product in every image of a shoot (SAM proposals + CLIP classes).

Results go to the folder's project store (FOLDER/.shootstudio/, or the user's data dir when the folder is
read-only). A re-run does only new or changed images, and re-decides the others from stored scores, so
changing a threshold in a classes file and running again is instant.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from engine.cli.common import (
    EXIT_OK,
    UsageError,
    add_common_arguments,
    check_destination,
    json_bytes,
    open_engine,
    run_job,
)

HELP = "decide per image: product found (with masks) or skipped"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument(
        "--classes",
        metavar="NAMES|FILE.toml",
        help='comma-separated product classes, e.g. "hand bag,shoe", or a classes file '
        "(the shape of resources/product_classes.toml); default: the four default classes",
    )
    parser.add_argument("--report", type=Path, metavar="FILE.json", help="write a machine-readable report")
    parser.add_argument("--recursive", action="store_true", help="include images in subfolders")
    tuning = parser.add_argument_group("SAM proposals (defaults: segment-anything's)")
    tuning.add_argument("--points-per-side", type=int, default=32, metavar="N")
    tuning.add_argument("--iou-thresh", type=float, default=0.88, metavar="T", help="predicted-IoU filter")
    tuning.add_argument("--stability-thresh", type=float, default=0.95, metavar="T")
    tuning.add_argument(
        "--proposals",
        choices=("exact", "coarse", "grounded"),
        default="exact",
        help="exact: every point of the grid (seed-compatible); coarse: a grid of a quarter the points a "
        "side first, then the full grid only around the regions CLIP finds most product-like (faster); "
        "grounded: the detector model finds boxes for the classes' prompts and SAM masks each box "
        "(fastest; CLIP still decides)",
    )
    tuning.add_argument(
        "--box-threshold", type=float, default=0.1, metavar="T", help="grounded: detector score a box needs"
    )
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="SAM and CLIP arithmetic: auto = fp16 on a GPU; on a CPU with native bf16 (AMX or "
        "AVX-512-BF16) SAM's encoder and CLIP in bf16, SAM's proposal decoder fp32 (its thresholds); "
        "else fp32; results are stored per precision",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile SAM's image encoder (a build of about two minutes on the first image, cached "
        "by torch); on a 2-core bf16 CPU it measured no faster than the plain encoder, so try it on your "
        "machine before a large shoot; falls back to the plain encoder if no compiler works here",
    )
    add_common_arguments(parser)


def _regions(count: int) -> str:
    return f"{count} region{'s' * (count != 1)}"


def format_line(report, width: int) -> str:
    if report.verdict in ("product", "uncertain"):
        found = ", ".join(f"{name} ×{count}" for name, count in report.classes.items())
        detail = f"{found}  ({_regions(len(report.regions))})"
    elif report.verdict == "skipped":
        detail = f"no class passed: {report.reason}  ({_regions(report.scored)} scored)"
    else:
        detail = report.reason
    return f"{report.rel_path:<{width}}  {report.verdict:<9}  {detail}"


def run(args: argparse.Namespace) -> int:
    from engine.api import FilterRequest
    from engine.filter.classes import classes_from_argument
    from engine.filter.grounded import GroundedSettings
    from engine.filter.run import FilterSettings, ImageReport
    from engine.imaging.raw import pair_raw_jpeg
    from engine.imaging.read import list_images, unlisted_entries
    from engine.project.values import ERROR
    from engine.runtime.atomic import atomic_write_bytes
    from engine.segment.session import ProposalSettings

    folder: Path = args.folder
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    if args.points_per_side < 1:
        raise UsageError("--points-per-side must be at least 1")
    thresholds = (("--iou-thresh", args.iou_thresh), ("--stability-thresh", args.stability_thresh))
    for option, value in (*thresholds, ("--box-threshold", args.box_threshold)):
        if not 0.0 <= value <= 1.0:
            raise UsageError(f"{option} {value}: use a number from 0 to 1")
    if args.report:
        check_destination(args.report, "--report")
    class_set = classes_from_argument(args.classes)
    # A RAW + JPEG pair is one shot, filtered once through its JPEG (as the desk and the engine's job do).
    paths = [shown for shown, _ in pair_raw_jpeg(list_images(folder, recursive=args.recursive))]
    settings = FilterSettings(
        ProposalSettings(
            points_per_side=args.points_per_side,
            pred_iou_thresh=args.iou_thresh,
            stability_score_thresh=args.stability_thresh,
        ),
        precision=args.precision,
        proposals_mode=args.proposals,
        grounded=GroundedSettings(box_threshold=args.box_threshold),
        compile_encoder=args.compile,
    )
    engine = open_engine(args)
    store_root = engine.store(folder).root
    print(f"{len(paths)} images in {folder}; classes: {', '.join(class_set.names)}; store: {store_root}")
    code, run = run_job(engine, engine.filter(FilterRequest(folder, paths, class_set, settings)))
    if run is None:
        print("Stopped. Finished images are kept in the store; run the same command again to resume.")
        return code
    reports = run.reports + [
        ImageReport(path, path.relative_to(folder).as_posix(), None, ERROR, reason=reason)
        for path, reason in unlisted_entries(folder, recursive=args.recursive)
    ]  # named like images but not read: reported, never silently left out
    width = min(48, max((len(r.rel_path) for r in reports), default=8))
    for report in reports:
        print(format_line(report, width))
    counts = Counter(r.verdict for r in reports)
    reused = sum(r.reused for r in reports)
    rescored = sum("sam_reuse" in r.timings for r in reports)  # other classes: CLIP on stored regions
    summary = ", ".join(f"{counts[v]} {v}" for v in ("product", "uncertain", "skipped", "error") if counts[v])
    stored = f"{reused} decided from stored scores" + (
        f", {rescored} re-scored from stored regions" if rescored else ""
    )
    print(f"{len(reports)} images: {summary or 'none'} ({stored})")
    if args.report:
        data = {
            "folder": str(folder.resolve()),
            "store": str(store_root),
            "run_key": run.run_key,
            "classes": [
                {"name": c.name, "threshold": c.threshold, "margin": c.margin} for c in class_set.classes
            ],
            "images": [r.to_json() for r in reports],
        }
        atomic_write_bytes(args.report, json_bytes(data))
        print(f"report: {args.report}")
    return EXIT_OK
