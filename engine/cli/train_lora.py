"""`train-lora FOLDER --tag TOKEN --out FILE.safetensors`: train a product LoRA on SD 1.5.

Captions are FOLDER/NAME.txt beside each image (`caption FOLDER --tag TOKEN` writes them); an image without
one trains on the tag alone. A checkpoint is written each epoch into OUT-checkpoints/; Ctrl+C stops after
the current step and keeps them, and `--resume OUT-checkpoints/OUT.resume.pt` continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.common import add_common_arguments, open_engine, run_job

HELP = "train a LoRA from a folder of product photos"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.training.config import LR_SCHEDULERS, PRECISIONS
    from engine.training.samples import SAMPLE_TEMPLATE

    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument("--tag", required=True, metavar="TOKEN", help="activation tag, e.g. ppzocketv2")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.safetensors")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    model = parser.add_argument_group("LoRA")
    model.add_argument("--rank", type=int, default=16, metavar="R")
    model.add_argument("--alpha", type=float, metavar="A", help="LoRA alpha (default: the rank, scale 1)")
    model.add_argument("--train-text-encoder", action="store_true", help="also train the text encoder")
    run = parser.add_argument_group("schedule")
    run.add_argument("--epochs", type=int, default=10, metavar="E")
    run.add_argument("--repeats", type=int, default=6, metavar="K", help="times each image is seen per epoch")
    run.add_argument("--batch-size", type=int, default=2, metavar="B")
    run.add_argument(
        "--resolution", type=int, default=512, metavar="PX", help="bucket area ≈ PX² (default 512)"
    )
    run.add_argument("--lr", type=float, default=1e-4, metavar="LR", help="UNet learning rate")
    run.add_argument("--text-encoder-lr", type=float, default=5e-5, metavar="LR")
    run.add_argument("--lr-scheduler", choices=LR_SCHEDULERS, default="constant")
    run.add_argument("--lr-warmup-steps", type=int, default=0, metavar="N")
    run.add_argument("--seed", type=int, default=42, metavar="N")
    run.add_argument("--mixed-precision", choices=PRECISIONS, default="auto", help="GPU only (auto: fp16)")
    run.add_argument("--gradient-checkpointing", action="store_true", help="less memory, ~30%% slower")
    run.add_argument("--save-every", type=int, default=1, metavar="N", help="checkpoint every N epochs")
    run.add_argument("--resume", type=Path, metavar="STATE.pt", help="continue from a .resume.pt checkpoint")
    samples = parser.add_argument_group("samples")
    samples.add_argument(
        "--sample-every", type=int, default=0, metavar="N", help="sample images every N epochs"
    )
    samples.add_argument("--sample-prompt", default=SAMPLE_TEMPLATE, metavar="TEMPLATE")
    samples.add_argument("--sample-class", default="product", metavar="NAME", help="fills {class}")
    samples.add_argument("--sample-count", type=int, default=1, metavar="N")
    samples.add_argument("--sample-steps", type=int, default=20, metavar="N")
    add_common_arguments(parser)


def config_from_args(args: argparse.Namespace):
    from engine.training.config import TrainingConfig
    from engine.training.samples import SampleSettings

    return TrainingConfig(
        folder=args.folder,
        tag=args.tag.strip(),
        out=args.out,
        overwrite=args.overwrite,
        rank=args.rank,
        alpha=args.alpha,
        train_text_encoder=args.train_text_encoder,
        epochs=args.epochs,
        repeats=args.repeats,
        batch_size=args.batch_size,
        resolution=args.resolution,
        learning_rate=args.lr,
        text_encoder_lr=args.text_encoder_lr,
        lr_scheduler=args.lr_scheduler,
        lr_warmup_steps=args.lr_warmup_steps,
        seed=args.seed,
        mixed_precision=args.mixed_precision,
        gradient_checkpointing=args.gradient_checkpointing,
        save_every_epochs=args.save_every,
        resume=args.resume,
        sample=SampleSettings(
            every_epochs=args.sample_every,
            template=args.sample_prompt,
            product_class=args.sample_class,
            count=args.sample_count,
            steps=args.sample_steps,
        ),
    )


def run(args: argparse.Namespace) -> int:
    from engine.training.data import SD15_BUCKET_STEP, scan_folder

    config = config_from_args(args)
    config.validate()
    scan_folder(config.folder, config.tag, config.resolution, SD15_BUCKET_STEP)  # fails before SD loads
    engine = open_engine(args)
    code, result = run_job(engine, engine.train(config))
    if result is None:
        if config.resume_file.exists():
            print(
                f"checkpoints kept in {config.checkpoint_dir}; continue with --resume {config.resume_file}",
                file=sys.stderr,
            )
        return code
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"{result.lora} ({result.steps} steps in {result.seconds:.0f} s, last loss "
        f"{sum(result.losses[-20:]) / max(1, len(result.losses[-20:])):.4f})"
    )
    return code
