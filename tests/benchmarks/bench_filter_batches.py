"""Batch sizes for the filter's SAM decoder (points_per_batch) and CLIP (clip_batch), by precision, measured
on this machine: the figures behind the defaults in engine/segment/session.py and engine/filter/run.py.

    flock /tmp/shootstudio-heavy.lock /work/main/.venv/bin/python tests/benchmarks/bench_filter_batches.py

Real-size SAM vit_b + CLIP ViT-B-32 with random weights, one synthetic 1024x768 shot (bench_filter.py's).
Prints ms per point of the proposal loop (decoder, then upscaling + stability of the masks that pass the
IoU filter) for each batch size in fp32 and bf16, ms per crop of CLIP for each batch size, and, with
--profile, torch.profiler's top operators of the proposal loop at the chosen batch size.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_filter import write_models, write_shoot

from engine.filter.classes import default_classes
from engine.filter.clip_scoring import ClipScorer
from engine.imaging.read import read_image
from engine.models.config import ModelsConfig
from engine.models.registry import ModelRegistry
from engine.segment.session import ProposalSettings, SamSession

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def decoder_rows(session, batches, points_per_side, repeats):
    """ms per point (decode, postprocess) for each (precision, batch), median of `repeats` runs."""
    rows = {}
    for name, dtype in DTYPES.items():
        session.proposal_decoder_dtype = lambda dtype=dtype: dtype  # (the filter keeps fp32 on the CPU)
        for batch in batches:
            settings = ProposalSettings(
                points_per_side=points_per_side,
                points_per_batch=batch,
                pred_iou_thresh=0.056,
                stability_score_thresh=0.0,
                box_nms_thresh=1.0,
            )
            runs = []
            for _ in range(repeats):
                cpu = time.process_time()
                proposals = session.propose(settings)
                cpu = time.process_time() - cpu
                runs.append((proposals.timings["decode"], proposals.timings["postprocess"], cpu))
            n = points_per_side**2
            decode = statistics.median(r[0] for r in runs) * 1000 / n
            post = statistics.median(r[1] for r in runs) * 1000 / n
            cpu = statistics.median(r[2] for r in runs) * 1000 / n
            rows[name, batch] = (decode, post, cpu)
            print(
                f"  decoder {name} batch {batch:>3}: {decode:6.1f} + {post:5.1f} ms a point (CPU {cpu:.1f})",
                flush=True,
            )
    return rows


def clip_rows(scorer, crops, batches, repeats):
    rows, class_set = {}, default_classes()
    for name, dtype in DTYPES.items():
        scorer.dtype = dtype
        scorer.bundle.text_features.clear()
        scorer.score_crops(crops[:4], class_set, 4)  # text features, warm-up
        for batch in batches:
            times = []
            for _ in range(repeats):
                start, cpu = time.perf_counter(), time.process_time()
                scorer.score_crops(crops, class_set, batch)
                times.append((time.perf_counter() - start, time.process_time() - cpu))
            wall, cpu = (statistics.median(t[i] for t in times) * 1000 / len(crops) for i in (0, 1))
            rows[name, batch] = (wall, cpu)
            print(f"  CLIP {name} batch {batch:>3}: {wall:6.1f} ms a crop (CPU {cpu:.1f})", flush=True)
    return rows


def profile(session, batch, dtype, points_per_side):
    from torch.profiler import ProfilerActivity, profile

    session.proposal_decoder_dtype = lambda: dtype
    settings = ProposalSettings(
        points_per_side=points_per_side,
        points_per_batch=batch,
        pred_iou_thresh=0.056,
        stability_score_thresh=0.0,
        box_nms_thresh=1.0,
    )
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        session.propose(settings)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points-per-side", type=int, default=8, help="grid for the decoder rows")
    parser.add_argument("--decoder-batches", default="1,4,16,64")
    parser.add_argument("--clip-batches", default="8,16,32,64")
    parser.add_argument("--crops", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--profile", type=int, default=0, help="profile the proposal loop at this batch")
    parser.add_argument("--models", type=Path, help="use this models.toml instead (a quick smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    work = Path(tempfile.mkdtemp(prefix="bench-batches-"))
    atexit.register(shutil.rmtree, work, True)  # ~1 GB of random weights and stores
    registry = ModelRegistry(ModelsConfig.load(args.models or write_models(work)), "cpu")
    rgb = read_image(write_shoot(work, 1)[0]).rgb
    session = SamSession(registry, None, "fp32")
    session.set_image("shot", rgb)  # one fp32 embedding: both precisions decode the same one
    print(f"1024x768 shot, {args.points_per_side}² points, torch threads {torch.get_num_threads()}")
    if args.profile:
        for name, dtype in DTYPES.items():
            print(f"profile of the proposal loop, {name}, batch {args.profile}:")
            profile(session, args.profile, dtype, args.points_per_side)
    batches = [int(b) for b in args.decoder_batches.split(",") if b]
    decoder = decoder_rows(session, batches, args.points_per_side, args.repeats)
    session.proposal_decoder_dtype = lambda: torch.float32
    proposals = session.propose(
        ProposalSettings(
            points_per_side=16, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0
        )
    )
    scorer = ClipScorer(registry)
    picks = np.linspace(0, len(proposals) - 1, args.crops).astype(int)
    crops = scorer.crops(rgb, proposals.masks[picks], proposals.boxes[picks])
    clip = clip_rows(scorer, crops, [int(b) for b in args.clip_batches.split(",") if b], args.repeats)

    print("\n| precision | decoder batch | wall ms a point (decode + upscale/stability) | CPU ms a point |")
    print("| --- | --- | --- | --- |")
    for (name, batch), (decode, post, cpu) in decoder.items():
        print(f"| {name} | {batch} | {decode:.1f} + {post:.1f} | {cpu:.1f} |")
    print("\n| precision | CLIP batch | wall ms a crop | CPU ms a crop |")
    print("| --- | --- | --- | --- |")
    for (name, batch), (wall, cpu) in clip.items():
        print(f"| {name} | {batch} | {wall:.1f} | {cpu:.1f} |")
    for name in DTYPES:  # (by CPU time: on a shared machine wall time says more about the neighbours)
        best_decoder = min(((v[2], b) for (n, b), v in decoder.items() if n == name), default=(0, "-"))[1]
        best_clip = min(((v[1], b) for (n, b), v in clip.items() if n == name), default=(0, "-"))[1]
        print(f"fastest for {name}: points_per_batch {best_decoder}, clip_batch {best_clip}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
