"""Click → mask on the canvas, embedding cached: the fast path against today's `SamPredictor.predict` path.

    flock /tmp/shootstudio-heavy.lock /work/main/.venv/bin/python tests/benchmarks/bench_click.py

Real-size SAM vit_b with random weights (the real decoder's sizes: 256 wide, 4,096 image tokens, 256 x 256
low-res masks), loaded through the registry from a `.pth` as users have it. The image embedding comes from
the disk cache as on the canvas; its values are seeded normal noise (what SAM's neck, a LayerNorm, outputs
has that scale) so the run does not spend a minute per image in the encoder. Both paths then do
everything a click costs in the engine up to the combined full-size uint8 mask the canvas shows:

- today: `SamSession.predict` (segment_anything's `SamPredictor.predict`: full decoder per prompt, three
  masks upscaled to full size), best score, `np.where` into the base mask;
- new: `apply_prompt` → `SamSession.predict_click` (reordered decoder, image side prepared once per image,
  best mask chosen at 256 x 256, upscaled only where it is, pasted into a copy of the base).

Prompts: one point; a box; a refinement click (a second point, the previous low-res mask fed back; today's
app re-predicts both points from scratch). Each row prints median and p95 (ms), the ratio of medians,
wall and CPU time (a shared 2-core machine: CPU seconds are less disturbed by the neighbours), the mask's
share of the image and the agreement (IoU) of the two paths for the same SAM inputs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.models.config import ModelsConfig
from engine.models.registry import ModelRegistry
from engine.models.sam import SAM_VARIANTS, build_sam
from engine.runtime.embedding_cache import EmbeddingCache
from engine.segment.prompts import Prompt, apply_prompt, combine
from engine.segment.session import SamSession

SIZES = [(768, 1024), (4000, 6000)]  # height, width


def write_sam(folder: Path) -> Path:
    torch.manual_seed(0)
    torch.save(build_sam(SAM_VARIANTS["vit_b"]).state_dict(), folder / "sam_vit_b_random.pth")
    toml = folder / "models.toml"
    toml.write_text('[sam]\npath = "sam_vit_b_random.pth"\nvariant = "vit_b"\n')
    return toml


def today(session: SamSession, base: np.ndarray, prompt: Prompt) -> np.ndarray:
    """The canvas's click before this change (engine/segment/prompts.apply_prompt as it was)."""
    points, labels, box = prompt.sam_inputs()
    masks, _, _ = session.predict(points=points, labels=labels, box=box, multimask=True)
    return combine(base, masks[0], prompt)


def timed(fn, fn_args: tuple, repeats: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn(*fn_args)
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="clicks per row on the new path")
    parser.add_argument("--baseline-repeats", type=int, default=6, help="clicks per row on today's path")
    parser.add_argument("--precision", default="auto", help="the new path's: auto|fp32|bf16")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    work = Path(tempfile.mkdtemp(prefix="bench-click-"))
    registry = ModelRegistry(ModelsConfig.load(write_sam(work)), "cpu")
    cache = EmbeddingCache(work / "cache")
    new = SamSession(registry, cache, args.precision)
    old = SamSession(registry, cache, "fp32")
    print(
        f"SAM vit_b (random weights), new path in {str(new.dtype).removeprefix('torch.')}, "
        f"torch threads {torch.get_num_threads()}, {os.cpu_count()} cores; times in ms",
        flush=True,
    )
    header = f"{'image':>10} {'prompt':<11} {'new med':>8} {'p95':>7} {'today med':>10} {'p95':>7} "
    print(header + f"{'x faster':>9} {'cpu x':>6} {'mask %':>7} {'IoU':>6}")
    rng = np.random.default_rng(0)
    for height, width in SIZES:
        rgb = np.zeros((height, width, 3), np.uint8)  # pixels unused: the embedding comes from the cache
        base = np.zeros((height, width), np.uint8)
        image_id = f"bench-{width}x{height}"
        scale = 1024 / max(height, width)
        input_size = (round(height * scale), round(width * scale))
        features = torch.randn(1, 256, 64, 64, generator=torch.Generator().manual_seed(1)).numpy()
        for session in (new, old):
            cache.put(image_id, session.model_key, {"features": features, "input_size": np.array(input_size)})
        w, c = time.perf_counter(), time.process_time()
        new.set_image(image_id, rgb)
        apply_prompt(new, image_id, rgb, base, Prompt(((width / 2, height / 2, True),)), generation=0)
        first = ((time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000)
        old.set_image(image_id, rgb)
        cx, cy = width / 2, height / 2
        point = (cx + rng.uniform(-0.1, 0.1) * width, cy + rng.uniform(-0.1, 0.1) * height, True)
        second = (cx - 0.15 * width, cy - 0.1 * height, True)
        box = (0.3 * width, 0.25 * height, 0.7 * width, 0.75 * height)
        rows = [
            ("point", Prompt((point,)), None),
            ("box", Prompt((), box), None),
            ("refine", Prompt((point, second)), Prompt((point,))),
        ]
        for name, prompt, previous in rows:
            generation = {"point": 1, "box": 2, "refine": 3}[name]

            new_wall, new_cpu = [], []
            for repeat in range(args.repeats + 1):  # the first is a warm-up
                if previous is not None:  # the session's first click, outside the timing
                    first_low = new.predict_click(*previous.sam_inputs()).low_res
                    new.remember((image_id, generation, 1), first_low)
                w, c = time.perf_counter(), time.process_time()
                mask, _ = apply_prompt(new, image_id, rgb, base, prompt, generation)
                if repeat:
                    new_wall.append((time.perf_counter() - w) * 1000)
                    new_cpu.append((time.process_time() - c) * 1000)
            old_wall, old_cpu = timed(today, (old, base, prompt), args.baseline_repeats)
            # Agreement for the same SAM inputs (the new path's): the library predictor's best mask.
            points, labels, box_in = prompt.sam_inputs()
            mask_input = new.refine_input((image_id, generation, 1)) if previous is not None else None
            multimask = previous is None and box_in is None
            masks, _, _ = old.predict(points, labels, box_in, mask_input=mask_input, multimask=multimask)
            agreement = iou(mask > 0, masks[0])
            print(
                f"{width}x{height:<5} {name:<11} {statistics.median(new_wall):8.1f} {p95(new_wall):7.1f} "
                f"{statistics.median(old_wall):10.1f} {p95(old_wall):7.1f} "
                f"{statistics.median(old_wall) / statistics.median(new_wall):9.1f} "
                f"{statistics.median(old_cpu) / max(statistics.median(new_cpu), 1e-3):6.1f} "
                f"{100 * (mask > 0).mean():7.1f} {agreement:6.4f}",
                flush=True,
            )
        print(
            f"{width}x{height:<5} first click after the embedding (prepares the image side): "
            f"{first[0]:.1f} ms wall, {first[1]:.1f} ms CPU"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
