"""Benchmark: crop-to-mask ("only masked") vs whole-image enhancement on a 6000×4000 photo, real-size SD 1.5.

Real-size SD 1.5 inpainting UNet (9 channels) + ControlNet depth + VAE + CLIP-L text encoder, built with
random weights from the configs bundled in engine/resources (no download possible here), and a real-size
MiDaS (dpt_hybrid) depth network, on the CPU, 1 denoising step. Each configuration runs in its own process
so that its peak memory (VmHWM) is its own. Run it under the shared lock (it needs ~8 GB):

    flock /tmp/shootstudio-heavy.lock /tmp/probe-venv/bin/python tests/benchmarks/bench_enhance.py [WORD...]

(WORD... keeps only the configurations whose name contains one of them, e.g. `mask 512`.)

Prints a table: time of `enhance()` (read, crop, depth, 1 step, decode, blend) and of writing the PNG,
peak RSS of the process, and how many pixels of the product the model sees. The enhance time is broken
down into the depth map, the diffusers pipeline call (encode, 1 step, decode) and the rest (read, crop,
blend).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

IMAGE_SIZE = (6000, 4000)
PRODUCT_BOX = (2800, 1850, 3200, 2150)  # a 400×300 product: small in a 24 MP frame
CONFIGS = {
    "crop to mask, 512²": {"mode": "masked", "work_size": 512},
    "whole image → 512 long side": {"mode": "whole", "work_size": 512},
    "whole image → 1024 long side": {"mode": "whole", "work_size": 1024},
}
BASELINE = "whole image → 512 long side"


def make_inputs(folder: Path) -> tuple[Path, Path]:
    from PIL import Image, ImageDraw

    width, height = IMAGE_SIZE
    ramp = np.linspace(180, 240, width, dtype=np.float32)[None, :, None]
    shade = np.linspace(0.9, 1.0, height, dtype=np.float32)[:, None, None]
    backdrop = np.clip(ramp * shade * np.ones((1, 1, 3), np.float32), 0, 255).astype(np.uint8)
    image = Image.fromarray(backdrop, "RGB")
    ImageDraw.Draw(image).rounded_rectangle(PRODUCT_BOX, radius=40, fill=(120, 40, 30))
    image_path = folder / "shoot_0001.jpg"
    image.save(image_path, quality=95)
    mask = Image.new("L", IMAGE_SIZE, 0)
    ImageDraw.Draw(mask).rounded_rectangle(PRODUCT_BOX, radius=40, fill=255)
    mask_path = folder / "shoot_0001_mask.png"
    mask.save(mask_path)
    return image_path, mask_path


def build_registry():
    """A registry whose inpaint pipeline and depth model are real-size, random-weight, in memory."""
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        StableDiffusionControlNetInpaintPipeline,
        UNet2DConditionModel,
    )
    from diffusers.schedulers import PNDMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel

    from engine.models.config import ModelsConfig
    from engine.models.depth import DetectorDepth, build_detector_network
    from engine.models.diffusion import BUNDLED_CONFIGS, sd_tokenizer
    from engine.models.registry import ModelRegistry

    torch.manual_seed(0)
    sd = BUNDLED_CONFIGS["inpaint"]
    pipe = StableDiffusionControlNetInpaintPipeline(
        vae=AutoencoderKL.from_config(AutoencoderKL.load_config(sd / "vae")),
        text_encoder=CLIPTextModel(CLIPTextConfig.from_pretrained(sd / "text_encoder")),
        tokenizer=sd_tokenizer(sd),
        unet=UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(sd / "unet")),
        controlnet=ControlNetModel.from_config(
            ControlNetModel.load_config(BUNDLED_CONFIGS["controlnet_depth"])
        ),
        scheduler=PNDMScheduler.from_config(PNDMScheduler.load_config(sd / "scheduler")),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    registry = ModelRegistry(ModelsConfig.defaults(), "cpu")
    registry.get(("inpaint", True), lambda: pipe)
    registry.get("depth", lambda: DetectorDepth("midas", build_detector_network("midas").eval(), 384))
    return registry


def peak_rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def timed(cls: type, method: str, totals: dict, key: str) -> None:
    """Wrap `cls.method` so its wall time adds up in `totals[key]` (for the breakdown columns)."""
    original = getattr(cls, method)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - started

    setattr(cls, method, wrapper)


def run_one(name: str, image_path: Path, mask_path: Path, out_dir: Path) -> dict:
    from diffusers import StableDiffusionControlNetInpaintPipeline

    from engine.diffusion.enhance import enhance, load_mask, save_variant
    from engine.diffusion.recipes import EnhanceRecipe
    from engine.models.depth import DetectorDepth

    totals: dict[str, float] = {}
    timed(DetectorDepth, "__call__", totals, "depth_s")
    timed(StableDiffusionControlNetInpaintPipeline, "__call__", totals, "pipe_s")
    started = time.perf_counter()
    registry = build_registry()
    build_s = time.perf_counter() - started
    rss_models = peak_rss_gb()
    recipe = EnhanceRecipe(steps=1, strength=1.0, seed=7, scheduler="DDIM", **CONFIGS[name])
    mask = load_mask(mask_path)
    started = time.perf_counter()
    result = enhance(image_path, mask, recipe, registry, class_name="hand bag")
    enhance_s = time.perf_counter() - started
    started = time.perf_counter()
    save_variant(result, result.variants[0], out_dir)
    save_s = time.perf_counter() - started
    region = result.region
    scale_x, scale_y = result.work_size[0] / region.width, result.work_size[1] / region.height
    product_w, product_h = PRODUCT_BOX[2] - PRODUCT_BOX[0], PRODUCT_BOX[3] - PRODUCT_BOX[1]
    return {
        "name": name,
        "build_s": build_s,
        "enhance_s": enhance_s,
        "save_s": save_s,
        "peak_gb": peak_rss_gb(),
        "models_gb": rss_models,
        "region": f"{region.width}×{region.height}",
        "work": f"{result.work_size[0]}×{result.work_size[1]}",
        "product_px": f"{round(product_w * scale_x)}×{round(product_h * scale_y)}",
        **totals,
    }


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        row = run_one(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[4]).parent / "out")
        print("RESULT " + json.dumps(row))
        return
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        image_path, mask_path = make_inputs(folder)
        rows = []
        wanted = [name for name in CONFIGS if not sys.argv[1:] or any(a in name for a in sys.argv[1:])]
        for name in wanted:
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "DIFFUSERS_VERBOSITY": "error"}
            command = [sys.executable, __file__, "--one", name, str(image_path), str(mask_path)]
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(f"{name}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
                continue
            rows.append(json.loads(line.removeprefix("RESULT ")))
            print(f"  done: {name}", file=sys.stderr)
    base = next((r for r in rows if r["name"] == BASELINE), None)
    print(
        f"\nEnhance one {IMAGE_SIZE[0]}×{IMAGE_SIZE[1]} photo, product 400×300, real-size random-weight "
        f"SD 1.5 inpaint + ControlNet depth + MiDaS, CPU ({torch.get_num_threads()} threads), 1 step; "
        f"load average at the end {os.getloadavg()[0]:.1f}\n"
    )
    header = (
        f"{'configuration':32} {'region':>11} {'work':>10} {'product seen':>13} {'enhance s':>10} "
        f"{'× base':>7} {'(depth':>7} {'pipe':>6} {'rest)':>6} {'save s':>7} {'peak RSS GB':>12} "
        f"{'× base':>7} {'(models GB)':>12}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        time_ratio = row["enhance_s"] / base["enhance_s"] if base else float("nan")
        mem_ratio = row["peak_gb"] / base["peak_gb"] if base else float("nan")
        print(
            f"{row['name']:32} {row['region']:>11} {row['work']:>10} {row['product_px']:>13} "
            f"{row['enhance_s']:>10.1f} {time_ratio:>7.2f} {row['depth_s']:>7.1f} {row['pipe_s']:>6.1f} "
            f"{row['enhance_s'] - row['depth_s'] - row['pipe_s']:>6.1f} {row['save_s']:>7.1f} "
            f"{row['peak_gb']:>12.2f} {mem_ratio:>7.2f} {row['models_gb']:>12.2f}"
        )


if __name__ == "__main__":
    main()
