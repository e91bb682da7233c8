"""Benchmark: text-prompted proposals (`filter --proposals grounded`) against today's exact filter.

Real-size random-weight SAM vit_b, open_clip ViT-B-32 and OWLv2 base patch16 (built from its config, no
download) on the CPU, per image everything included (reading, the SAM embedding, the detector, decoding,
CLIP, the store). Today's exact filter (bench_filter.py's "today": fp32, the library's encoder
attention, the reordered decoder of its time, CLIP in batches of 32, in a process of its own with glibc's
allocator defaults; SAM's 32² grid, with the thresholds bench_filter.py uses so random weights keep a
realistic ~100 regions) runs on one image only (about a minute); the grounded mode on `--images` images,
cold (the embedding computed) and warm (the embedding already cached, as after the review desk's
embed-ahead), with the detector at its own 960 px and at 480 px (`image_size = 480`); then OWL-ViT B/32
(768 px) alone on the same images.
Random OWLv2 weights give every box about the same score: the box threshold is 0 and the 16-box cap
decides, the most a product shot asks for (a real one keeps a few boxes, so its decode and CLIP are less).

    flock /tmp/shootstudio-heavy.lock python3 tests/benchmarks/bench_grounded.py --images 2

Wall and CPU seconds are printed (a shared machine's wall times vary; its CPU seconds less).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_filter import TodayProcess, write_models, write_shoot

from engine.filter.classes import default_classes
from engine.filter.grounded import GroundedSettings
from engine.filter.run import FilterSettings, ProductFilter
from engine.models.config import ModelsConfig
from engine.models.registry import ModelRegistry
from engine.models.tiny import write_clip_tokenizer
from engine.project.store import ProjectStore
from engine.segment.session import ProposalSettings


def write_detector(folder: Path) -> None:
    """OWLv2 base patch16's architecture (960 px, ViT-B/16 + CLIP text tower) with random weights."""
    from transformers import (
        CLIPTokenizer,
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessor,
        Owlv2Processor,
    )

    torch.manual_seed(0)
    config = Owlv2Config(vision_config={"image_size": 960, "patch_size": 16})
    Owlv2ForObjectDetection(config).save_pretrained(str(folder / "owlv2"), safe_serialization=True)
    tokenizer = CLIPTokenizer.from_pretrained(str(write_clip_tokenizer(folder / "_tok")), model_max_length=16)
    Owlv2Processor(Owlv2ImageProcessor(), tokenizer).save_pretrained(str(folder / "owlv2"))


def owlvit_detector(folder: Path):
    """OWL-ViT base patch32's architecture (768 px, ViT-B/32: 576 tokens) with random weights, in memory
    (not written: the disk of a shared machine is short)."""
    from transformers import (
        CLIPTokenizer,
        OwlViTConfig,
        OwlViTForObjectDetection,
        OwlViTImageProcessor,
        OwlViTProcessor,
    )

    from engine.models.detector import Detector

    torch.manual_seed(0)
    model = OwlViTForObjectDetection(OwlViTConfig(vision_config={"image_size": 768, "patch_size": 32}))
    tokenizer = CLIPTokenizer.from_pretrained(str(folder / "_tok"), model_max_length=16)
    side = {"height": 768, "width": 768}
    processor = OwlViTProcessor(OwlViTImageProcessor(size=side, crop_size=side), tokenizer)
    return Detector(model.eval(), processor, torch.device("cpu"), "owlvit-random")


def timed(product_filter: ProductFilter, path: Path) -> tuple[float, float, dict, int]:
    """(wall s, CPU s, the filter's timings, regions) for one image."""
    wall, cpu = time.perf_counter(), time.process_time()
    report = product_filter.process(path)
    return time.perf_counter() - wall, time.process_time() - cpu, report.timings, report.scored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--precision", default="fp32", help="the grounded runs' (today's is fp32)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    work = Path(tempfile.mkdtemp(prefix="bench-grounded-"))
    try:
        return run(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # ~2.5 GB of random weights


def run(work: Path, args: argparse.Namespace) -> int:
    (work / "shoot").mkdir()
    toml = write_models(work)
    write_detector(work)
    text = toml.read_text()
    toml.write_text(text + '\n[detector]\npath = "owlv2"\n')
    (work / "models-480.toml").write_text(text + '\n[detector]\npath = "owlv2"\nimage_size = 480\n')
    registries = {
        "OWLv2 960 px": ModelRegistry(ModelsConfig.load(toml), "cpu"),
        "OWLv2 480 px": ModelRegistry(ModelsConfig.load(work / "models-480.toml"), "cpu"),
    }
    paths = write_shoot(work / "shoot", max(args.images, 1))
    classes = default_classes()
    exact = FilterSettings(
        ProposalSettings(
            points_per_side=32, pred_iou_thresh=0.056, stability_score_thresh=0.0, box_nms_thresh=1.0
        ),
        precision="fp32",
    )
    print(f"{len(paths)} images 1024x768, torch threads {torch.get_num_threads()}", flush=True)
    rows = []
    # today's filter (bench_filter.TodayProcess: its encoder and decoder, CLIP fp32 in batches of 32, in
    # a process of its own with glibc's allocator defaults, as today's code ran), in its own store
    (work / "today").mkdir()
    copy = Path(shutil.copy(paths[0], work / "today"))
    proposals = exact.proposals
    today = TodayProcess(toml.resolve(), ["--points-per-side", str(proposals.points_per_side)])
    try:
        wall, cpu, image_id, run_key, timings = today.time_one(work / "today", copy)
    finally:
        today.close()
    with ProjectStore.open(work / "today") as today_store:
        regions = len(today_store.region_rows(image_id, run_key))
    print(f"today exact: {wall:.1f} s wall, {cpu:.1f} s CPU, {regions} regions", flush=True)
    rows.append(("today: exact, 32² points, fp32 (1 image)", wall, cpu, regions, timings))
    with ProjectStore.open(work / "shoot") as store:
        for size, registry in registries.items():
            for warm in (False, True):
                # A warm run differs only in its key (NMS 0.51): the same embeddings, from the cache.
                grounded = GroundedSettings(box_threshold=0.0, box_nms=0.51 if warm else 0.5)
                settings = FilterSettings(
                    exact.proposals, precision=args.precision, proposals_mode="grounded", grounded=grounded
                )
                product_filter = ProductFilter(registry, store, classes, settings)
                product_filter._models()
                registry.detector()
                if not warm:  # a fresh embedding per image: drop what an earlier run cached
                    for cached in [p for p in store.embeddings.folder.rglob("*") if p.is_file()]:
                        cached.unlink()
                measured = [timed(product_filter, path) for path in paths]
                wall = float(np.mean([m[0] for m in measured]))
                cpu = float(np.mean([m[1] for m in measured]))
                regions = int(np.mean([m[3] for m in measured]))
                timings = {k: float(np.mean([m[2].get(k, 0.0) for m in measured])) for k in measured[0][2]}
                name = (
                    f"grounded, detector {size}, {args.precision}, {'embedding cached' if warm else 'cold'}"
                )
                print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
                rows.append((name, wall, cpu, regions, timings))
    # OWL-ViT B/32: the detector alone on the same images (compare with the rows' detect column).
    detector = owlvit_detector(work)
    queries = [p for c in classes.classes for p in c.prompts]
    detector(np.asarray(Image.open(paths[0])), queries, 0.0)  # warm-up
    seconds = []
    for path in paths:
        start = time.perf_counter()
        detector(np.asarray(Image.open(path)), queries, 0.0)
        seconds.append(time.perf_counter() - start)
    print(f"OWL-ViT B/32 768 px, the detector alone: {np.mean(seconds):.2f} s an image", flush=True)
    base_wall, base_cpu = rows[0][1], rows[0][2]
    print()
    print(
        "| per image, everything included | wall s | CPU s | × today (wall / CPU) | regions | breakdown (s) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, wall, cpu, regions, timings in rows:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in timings.items() if v >= 0.01)
        print(
            f"| {name} | {wall:.1f} | {cpu:.1f} | {base_wall / wall:.1f} / {base_cpu / cpu:.1f} "
            f"| {regions} | {parts} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
