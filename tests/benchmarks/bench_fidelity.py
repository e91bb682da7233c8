"""What the product-fidelity check and Refine edge add to a variant, on this CPU.

    flock /tmp/shootstudio-heavy.lock python tests/benchmarks/bench_fidelity.py

Fidelity: `measure_fidelity` on product regions of growing size (regions over 1024 px are measured on a
reduced copy), ratio against the 512² region, beside one step of the SD 1.5 pipeline for scale (~6 s at
512² on 2 cores: ../shared/TESTING.md). Refine edge: `refine_edge` with a real-size ViTMatte-small
(random weights: same compute as the released model) on a 12 px band around products of growing size,
ratio against the smallest; the model sees at most MAX_SIDE px of the band's box.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np


def product(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    rng = np.random.default_rng(seed)
    rgb = cv2.resize(rng.integers(0, 255, (height // 16, width // 16, 3), dtype=np.uint8), (width, height))
    yy, xx = np.mgrid[:height, :width]
    mask = ((yy - height / 2) / (0.4 * height)) ** 2 + ((xx - width / 2) / (0.4 * width)) ** 2 < 1
    return rgb, mask


def timed(function, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def bench_fidelity() -> None:
    from engine.diffusion.fidelity import measure_fidelity

    print("| product region | measured at | fidelity s | × 512² |")
    print("| --- | --- | --- | --- |")
    base = None
    for height, width in ((512, 512), (1024, 1024), (2048, 2048), (3000, 4000)):
        rgb, mask = product(height, width)
        result = rgb.copy()
        result[mask] = np.clip(rgb[mask].astype(int) + 6, 0, 255).astype(np.uint8)
        seconds = timed(lambda rgb=rgb, result=result, mask=mask: measure_fidelity(rgb, result, mask))
        base = base or seconds
        scale = min(1.0, 1024 / max(height, width))
        measured = f"{round(width * scale)}×{round(height * scale)}"
        print(f"| {width}×{height} | {measured} | {seconds:.2f} | {seconds / base:.2f} |")


def vitmatte_small():
    import torch
    from transformers import VitDetConfig, VitMatteConfig, VitMatteForImageMatting, VitMatteImageProcessor

    from engine.models.matting import Matting

    # hustvl/vitmatte-small-composition-1k's configuration.
    backbone = VitDetConfig(
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=6,
        mlp_ratio=4,
        image_size=512,
        pretrain_image_size=224,
        patch_size=16,
        num_channels=4,
        window_size=14,
        window_block_indices=[0, 1, 3, 4, 6, 7, 9, 10],
        residual_block_indices=[2, 5, 8, 11],
        use_relative_position_embeddings=True,
        out_features=["stage12"],
    )
    config = VitMatteConfig(
        backbone_config=backbone,
        hidden_size=384,
        convstream_hidden_sizes=[48, 96, 192],
        fusion_hidden_sizes=[256, 128, 64, 32],
    )
    model = VitMatteForImageMatting(config).eval()
    return Matting(model, VitMatteImageProcessor(), torch.device("cpu"))


def bench_refine_edge() -> None:
    from engine.project.matting import refine_edge

    matte = vitmatte_small()
    print("\n| image | band box → model input | refine edge s | × smallest |")
    print("| --- | --- | --- | --- |")
    base = None
    for height, width in ((480, 640), (1200, 1600), (4000, 6000)):
        rgb, mask = product(height, width)
        seconds = timed(lambda rgb=rgb, mask=mask: refine_edge(rgb, mask, matte, band=12), repeat=1)
        base = base or seconds
        box_h, box_w = int(0.8 * height) + 2 * 46, int(0.8 * width) + 2 * 46
        scale = min(1.0, 1024 / max(box_h, box_w))
        shown = f"{min(box_w, width)}×{min(box_h, height)} → {round(min(box_w, width) * scale)}×"
        shown += f"{round(min(box_h, height) * scale)}"
        print(f"| {width}×{height} | {shown} | {seconds:.2f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    import os

    print(f"load average {os.getloadavg()[0]:.1f}")
    if "--matting-only" not in sys.argv:
        bench_fidelity()
    bench_refine_edge()
