"""The GPU in one call: SAM embedding, the canvas click, the product filter and enhancement on CUDA with
real-size random weights, each against today's path in the same run, printing it/s, images/s and peak VRAM.

    python tests/benchmarks/bench_gpu.py                 # on a machine with a CUDA GPU (~5-8 min)
    python tests/benchmarks/bench_gpu.py --smoke         # tiny models on the CPU: checks the script runs

Sections (one failing prints its error and the others still run):
- embed: SAM vit_b, segment_anything's encoder in fp32 (today) against engine/segment/encoder.py in the
  precision `auto` picks (fp16 on CUDA), images/s and the embedding's relative error;
- click: `SamPredictor.predict` + best mask (today) against `SamSession.predict_click`, ms per click;
- filter: the product filter (SAM vit_b + CLIP ViT-B-32) over synthetic 1024x768 shots in fp32 and auto
  precision, images/s, with the verdicts of both;
- enhance: SD 1.5 inpainting UNet + depth ControlNet + VAE + CLIP-L (real configs, random weights) through
  the engine's `enhance`, fp16 on CUDA, denoising it/s and seconds per image at 512².
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.models.config import ModelsConfig
from engine.models.registry import ModelRegistry
from engine.runtime.device import choose_precision


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_vram(device: torch.device) -> str:
    if device.type != "cuda":
        return "-"
    return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"


def clock(device: torch.device, fn, *args):
    sync(device)
    start = time.perf_counter()
    value = fn(*args)
    sync(device)
    return time.perf_counter() - start, value


def section_embed(registry, device, repeats: int) -> None:
    from engine.segment.encoder import accelerate_encoder, encode, restore_encoder

    sam = registry.sam()
    dtype = choose_precision("auto", device)
    batch = torch.randn(1, 3, sam.image_encoder.img_size, sam.image_encoder.img_size, device=device)
    rows = {}
    for name, fast, run_dtype in (("today fp32", False, torch.float32), (f"new {dtype}", True, dtype)):
        (accelerate_encoder if fast else restore_encoder)(sam.image_encoder)
        encode(sam, batch, run_dtype)  # warm-up (kernels, autotuning)
        reset_peak(device)
        times, features = [], None
        for _ in range(repeats):
            seconds, features = clock(device, encode, sam, batch, run_dtype)
            times.append(seconds)
        rows[name] = (statistics.median(times), peak_vram(device), features)
    reference = rows["today fp32"][2]
    base = rows["today fp32"][0]
    for name, (seconds, vram, features) in rows.items():
        error = float((features - reference).norm() / reference.norm())
        print(
            f"  {name:<22} {1 / seconds:7.2f} images/s  {seconds * 1000:8.1f} ms  x{base / seconds:5.2f}  "
            f"peak {vram}  rel err {error:.4f}"
        )


def section_click(registry, device, repeats: int) -> None:
    from engine.segment.session import SamSession

    session = SamSession(registry, None, "auto")
    for height, width in ((768, 1024), (4000, 6000)):
        rgb = np.zeros((height, width, 3), np.uint8)
        session.set_image(f"click-{width}", rgb)  # a real embedding of a blank image
        point = [[width * 0.5, height * 0.45]]
        session.predict_click(point, [1])
        session.predict(point, [1])
        new = [clock(device, session.predict_click, point, [1])[0] for _ in range(repeats)]
        old = [clock(device, session.predict, point, [1])[0] for _ in range(repeats)]
        print(
            f"  {width}x{height}: today {statistics.median(old) * 1000:7.1f} ms, "
            f"new {statistics.median(new) * 1000:7.1f} ms (p95 {np.percentile(new, 95) * 1000:.1f}), "
            f"x{statistics.median(old) / statistics.median(new):.1f}"
        )


def section_filter(registry, device, folder: Path, images: int, points: int) -> None:
    from dataclasses import replace

    from bench_filter import write_shoot

    from engine.filter.classes import default_classes
    from engine.filter.run import FilterSettings, ProductFilter
    from engine.project.store import ProjectStore
    from engine.segment.session import ProposalSettings

    paths = write_shoot(folder, images)
    # Thresholds that keep a realistic number of proposals with random weights (bench_filter.py).
    settings = FilterSettings(
        ProposalSettings(
            points_per_side=points, pred_iou_thresh=0.056, stability_score_thresh=0.0, box_nms_thresh=1.0
        )
    )
    verdicts = {}
    for precision in ("fp32", "auto"):
        with ProjectStore.open(folder) as store:
            product_filter = ProductFilter(
                registry, store, default_classes(), replace(settings, precision=precision)
            )
            product_filter._models()
            reset_peak(device)
            seconds, reports = clock(device, lambda pf=product_filter: [pf.process(p) for p in paths])
            verdicts[precision] = [r.verdict for r in reports]
            regions = sum(r.scored for r in reports)
            print(
                f"  {precision:<5} ({product_filter.dtype}): {len(paths) / seconds:6.2f} images/s, "
                f"{seconds / len(paths):6.2f} s an image, {regions} regions, peak {peak_vram(device)}"
            )
    same = sum(a == b for a, b in zip(verdicts["fp32"], verdicts["auto"], strict=True))
    print(f"  verdicts equal in {same}/{len(paths)} images")


def section_enhance(device, folder: Path, steps: int, smoke_models: Path | None) -> None:
    from bench_enhance import build_registry, make_inputs
    from diffusers import StableDiffusionControlNetInpaintPipeline

    from engine.diffusion.enhance import enhance, load_mask
    from engine.diffusion.recipes import EnhanceRecipe

    pipe_time = {"s": 0.0}
    original = StableDiffusionControlNetInpaintPipeline.__call__

    def timed_call(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            sync(device)
            pipe_time["s"] += time.perf_counter() - start

    StableDiffusionControlNetInpaintPipeline.__call__ = timed_call
    try:
        if smoke_models is not None:
            registry = ModelRegistry(ModelsConfig.load(smoke_models), str(device))
        else:
            registry = build_registry()  # real-size, random weights, on the CPU; moved below
            pipe = registry.get(("inpaint", True), lambda: None)
            dtype = torch.float16 if device.type == "cuda" else torch.float32
            pipe.to(device, dtype)
            registry.choice = type(registry.choice)(device, dtype)
            registry.get("depth", lambda: None).model.to(device)
        image_path, mask_path = make_inputs(folder)
        recipe = EnhanceRecipe(
            steps=steps, strength=1.0, seed=7, scheduler="DDIM", mode="masked", work_size=512
        )
        mask = load_mask(mask_path)
        enhance(image_path, mask, recipe, registry, class_name="hand bag")  # warm-up
        pipe_time["s"] = 0.0
        reset_peak(device)
        seconds, _ = clock(device, enhance, image_path, mask, recipe, registry, None, "hand bag")
        print(
            f"  512² masked, {steps} steps: {steps / pipe_time['s']:6.2f} it/s (pipeline), "
            f"{seconds:6.2f} s an image ({1 / seconds:.3f} images/s), peak {peak_vram(device)}"
        )
    finally:
        StableDiffusionControlNetInpaintPipeline.__call__ = original


def real_models(folder: Path) -> Path:
    from bench_filter import write_models

    return write_models(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="default: cuda (cpu with --smoke)")
    parser.add_argument("--images", type=int, default=8, help="filter images")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="tiny models: check the script, not the GPU")
    parser.add_argument("--only", nargs="*", default=["embed", "click", "filter", "enhance"])
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_filter / bench_enhance helpers
    device = torch.device(args.device or ("cpu" if args.smoke else "cuda"))
    if device.type == "cuda" and not torch.cuda.is_available():
        print("No CUDA GPU here (use --smoke to check the script on the CPU).")
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    atexit.register(shutil.rmtree, work, True)  # ~1 GB of random weights and stores
    smoke_models = None
    if args.smoke:
        from engine.models.tiny import make_tiny

        smoke_models = make_tiny(work / "tiny")
        toml = smoke_models
    else:
        toml = real_models(work)
    registry = ModelRegistry(ModelsConfig.load(toml), str(device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{name}, torch {torch.__version__}, auto precision {choose_precision('auto', device)}", flush=True)
    sections = {
        "embed": lambda: section_embed(registry, device, args.repeats),
        "click": lambda: section_click(registry, device, args.repeats * 3),
        "filter": lambda: section_filter(
            registry, device, work / "shoot", args.images, 4 if args.smoke else 32
        ),
        "enhance": lambda: section_enhance(device, work / "enhance", args.steps, smoke_models),
    }
    failed = 0
    for key in args.only:
        print(f"{key}:", flush=True)
        (work / "shoot").mkdir(exist_ok=True)
        (work / "enhance").mkdir(exist_ok=True)
        try:
            sections[key]()
        except Exception:  # one section's failure must not cost the others' figures
            failed += 1
            traceback.print_exc()
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
