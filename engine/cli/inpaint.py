"""`inpaint IMAGE --mask MASK.png --prompt TEXT --out PATH`: enhance the masked product.

Writes `<stem>_enh_<seed>.png` per variant into the folder PATH (or exactly PATH when it ends in .png and
one variant is asked for), with the generation parameters in the PNG `parameters` chunk; never over an
existing file or the original. A cancelled run (Ctrl+C) writes nothing. Each variant's product fidelity
(engine/diffusion/fidelity.py) goes to stderr, into the file's `shootstudio:fidelity` text chunk, and with
`--report FILE.json` into a machine-readable report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli.common import (
    EXIT_OK,
    UsageError,
    add_common_arguments,
    check_destination,
    open_engine,
    run_job,
)

HELP = "repaint the masked product with SD 1.5 inpainting + depth ControlNet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.diffusion.recipes import DEFAULT_TEMPLATE, ENHANCE_NEGATIVE, MODES
    from engine.diffusion.samplers import SCHEDULERS

    parser.add_argument("image", type=Path, metavar="IMAGE")
    parser.add_argument("--mask", type=Path, required=True, metavar="MASK.png", help="white = the product")
    parser.add_argument(
        "--prompt",
        default=DEFAULT_TEMPLATE,
        metavar="TEXT",
        help="prompt; {class} is replaced by --class (default: %(default)s)",
    )
    parser.add_argument("--negative", default=ENHANCE_NEGATIVE, metavar="TEXT", help="negative prompt")
    parser.add_argument("--class", dest="class_name", default="", metavar="NAME", help="fills {class}")
    parser.add_argument("--lora", action="append", default=[], metavar="FILE[:SCALE]", help="repeatable")
    parser.add_argument("--control", choices=("depth", "none"), default="depth")
    parser.add_argument("--control-scale", type=float, default=1.0, metavar="W")
    parser.add_argument("--strength", type=float, default=0.75, metavar="S", help="denoising strength")
    parser.add_argument("--steps", type=int, default=30, metavar="N")
    parser.add_argument("--guidance", type=float, default=7.5, metavar="G")
    parser.add_argument("--scheduler", choices=tuple(SCHEDULERS), default="Euler a")
    parser.add_argument("--seed", type=int, metavar="N", help="default: random (written in the file)")
    parser.add_argument("--variants", type=int, default=1, metavar="K", help="seeds N, N+1, ...")
    parser.add_argument("--mask-blur", type=float, default=4.0, metavar="PX")
    parser.add_argument("--padding", type=int, default=32, metavar="PX", help="around the mask's box")
    parser.add_argument("--work-size", type=int, default=512, metavar="PX", help="the model's resolution")
    parser.add_argument("--mode", choices=MODES, default="masked", help="crop to the mask, or whole image")
    parser.add_argument("--offload", action="store_true", help="GPU: model CPU offload + VAE tiling")
    parser.add_argument(
        "--retry-offload", action="store_true", help="GPU: on out-of-memory, retry once with offload"
    )
    parser.add_argument(
        "--keep-format",
        action="store_true",
        help="write JPEG/WebP/TIFF originals in their format at maximum quality (default: PNG)",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="output folder (or .png)")
    parser.add_argument(
        "--report", type=Path, metavar="FILE.json", help="write each variant's path, seed and fidelity"
    )
    parser.add_argument(
        "--check-shape",
        action="store_true",
        help="fidelity: also compare the product's silhouette (SAM box prompt before and after)",
    )
    parser.add_argument(
        "--soft-edges",
        action="store_true",
        help="blend through the matting role's alpha in a band around the mask's edge",
    )
    parser.add_argument("--edge-band", type=int, default=12, metavar="PX", help="width of that band")
    parser.add_argument(
        "--keep-product",
        action="store_true",
        help="keep the product, change the scene: repaint outside the mask (the prompt describes the scene)",
    )
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from engine.api import EnhanceRecipe, EnhanceRequest, parse_lora_arg
    from engine.diffusion.enhance import load_mask

    if not args.image.is_file():
        raise UsageError(f"{args.image}: file not found")
    if args.out.suffix.lower() == ".png" and args.variants != 1:
        raise UsageError("--out names one file; give a folder to write several --variants")
    if args.out.resolve() == args.image.resolve():
        raise UsageError("--out is the original image: originals are never written")
    check_destination(args.out, "--out", folder_ok=True)
    mask = load_mask(args.mask)
    recipe = EnhanceRecipe(
        prompt=args.prompt,
        negative_prompt=args.negative,
        control=args.control == "depth",
        control_scale=args.control_scale,
        loras=tuple(parse_lora_arg(text) for text in args.lora),
        strength=args.strength,
        steps=args.steps,
        guidance=args.guidance,
        scheduler=args.scheduler,
        seed=args.seed,
        variants=args.variants,
        mask_blur=args.mask_blur,
        padding=args.padding,
        work_size=args.work_size,
        mode=args.mode,
        cpu_offload=args.offload,
        vae_tiling=args.offload,
        retry_with_offload=args.retry_offload,
        fidelity_shape=args.check_shape,
        soft_edges=args.soft_edges,
        edge_band=args.edge_band,
        keep_product=args.keep_product,
    )
    recipe.validate()
    engine = open_engine(args)
    request = EnhanceRequest(
        args.image, mask, recipe, args.class_name, save_to=args.out, keep_format=args.keep_format
    )
    code, result = run_job(engine, engine.enhance(request))
    if result is None:
        return code
    for path, variant in zip(result.saved, result.variants, strict=True):
        print(path)
        if variant.fidelity is not None:
            print(f"{path.name}: {variant.fidelity.summary()}", file=sys.stderr)
    if args.report is not None:
        write_report(args.report, args, result)
    return EXIT_OK


def write_report(path: Path, args: argparse.Namespace, result) -> Path:
    """The run as JSON: the input, and per variant its file, seed and fidelity figures."""
    from engine.runtime.atomic import atomic_write_bytes

    variants = [
        {
            "path": str(saved),
            "seed": variant.seed,
            "fidelity": variant.fidelity.to_dict() if variant.fidelity is not None else None,
        }
        for saved, variant in zip(result.saved, result.variants, strict=True)
    ]
    data = {"image": str(args.image), "mask": str(args.mask), "class": args.class_name, "variants": variants}
    return atomic_write_bytes(path, json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))
