"""SAM vit_b image embedding: today's fp32 encoder against the fast one, in the same run.

    flock /tmp/shootstudio-heavy.lock /work/main/.venv/bin/python tests/benchmarks/bench_embed.py [--images 3]

Real-size SAM vit_b with random weights (relative position tables random too, so the bias matters).
Per image, interleaved so a busy spell of the shared machine falls on both:

- today: segment_anything's encoder as loaded before this change (its own attention, fp32);
- new: engine/segment/encoder.py (SDPA with the relative position bias as the mask, channels-last) in
  fp32, and in the precision `auto` picks here (bf16 on CPUs with native bf16), optionally compiled.

Prints median / p95 seconds (wall and CPU), the ratio to today, the embedding's relative error against
today's, and the achieved GFLOP/s (the encoder's FLOPs counted on the meta device) against this CPU's
measured matmul peak for the same dtype (a 2048² torch.mm, best of several).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.models.sam import SAM_VARIANTS, build_sam
from engine.runtime.device import choose_precision
from engine.segment.encoder import accelerate_encoder, compile_encoder, encode, restore_encoder


def encoder_flops() -> float:
    """FLOPs of one vit_b embedding at 1024² (matmuls, convolutions, attention), counted on meta tensors."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        sam = build_sam(SAM_VARIANTS["vit_b"])
        batch = torch.empty(1, 3, 1024, 1024)
        with FlopCounterMode(display=False) as counter:
            sam.image_encoder(batch)
    return float(counter.get_total_flops())


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 6) -> float:
    """GFLOP/s of a plain size x size matrix product in `dtype`, best of `repeats` (the CPU's ceiling)."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def timed(sam, batch, dtype) -> tuple[float, float, torch.Tensor]:
    wall, cpu = time.perf_counter(), time.process_time()
    features = encode(sam, batch, dtype)
    return time.perf_counter() - wall, time.process_time() - cpu, features


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also the compiled encoder (minutes to build)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    sam = build_sam(SAM_VARIANTS["vit_b"]).eval()
    with torch.no_grad():
        for name, parameter in sam.image_encoder.named_parameters():
            if "rel_pos" in name:
                parameter.normal_(0, 0.5)
    auto = choose_precision("auto", torch.device("cpu"))
    flops = encoder_flops()
    peaks = {dtype: matmul_peak(dtype) for dtype in {torch.float32, auto}}
    variants = [("new fp32", torch.float32, False)]
    if auto != torch.float32:
        variants.append((f"new {str(auto).removeprefix('torch.')}", auto, False))
    if args.compile:
        variants.append((f"compiled {str(auto).removeprefix('torch.')}", auto, True))
    print(
        f"SAM vit_b encoder, 1024², {flops / 1e9:.0f} GFLOP an image; "
        f"torch threads {torch.get_num_threads()}; "
        + ", ".join(f"matmul peak {str(d).removeprefix('torch.')} {p:.0f} GFLOP/s" for d, p in peaks.items()),
        flush=True,
    )
    compiled = None
    times: dict[str, list[tuple[float, float]]] = {"today fp32": [], **{v[0]: [] for v in variants}}
    errors: dict[str, list[float]] = {v[0]: [] for v in variants}
    for number in range(args.images):
        batch = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(number))
        restore_encoder(sam.image_encoder)
        wall, cpu, reference = timed(sam, batch, torch.float32)
        times["today fp32"].append((wall, cpu))
        accelerate_encoder(sam.image_encoder)
        for name, dtype, use_compile in variants:
            model = sam
            if use_compile:
                compiled = compiled or compile_encoder(sam)
                model = compiled
                if number == 0:
                    timed(model, batch, dtype)  # the build, outside the timing
            wall, cpu, features = timed(model, batch, dtype)
            times[name].append((wall, cpu))
            errors[name].append(float((features - reference).norm() / reference.norm()))
        line = ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in times.items())
        print(f"image {number + 1}/{args.images}: {line}", flush=True)
    base_wall = statistics.median(t[0] for t in times["today fp32"])
    base_cpu = statistics.median(t[1] for t in times["today fp32"])
    print(
        f"{'path':<16} {'wall med':>8} {'p95':>6} {'CPU med':>8} {'x wall':>7} {'x CPU':>6} "
        f"{'GFLOP/s':>8} {'of peak':>8} {'rel err':>8}"
    )
    for name, values in times.items():
        wall = [t[0] for t in values]
        cpu = [t[1] for t in values]
        dtype = torch.float32 if "fp32" in name else auto
        rate = flops / statistics.median(wall) / 1e9
        error = f"{statistics.median(errors[name]):8.4f}" if name in errors else f"{'-':>8}"
        print(
            f"{name:<16} {statistics.median(wall):8.2f} {np.percentile(wall, 95):6.2f} "
            f"{statistics.median(cpu):8.2f} {base_wall / statistics.median(wall):7.2f} "
            f"{base_cpu / statistics.median(cpu):6.2f} {rate:8.1f} {100 * rate / peaks[dtype]:7.0f}% {error}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
