"""Benchmark: LoRA training steps/second and peak memory, real-size SD 1.5 at 512², with and without
gradient checkpointing.

Real-size SD 1.5 UNet, VAE and CLIP-L text encoder built with random weights from the configs bundled in
engine/resources/sd15 (no download possible here), trained through the app's own `LoraTrainer` (rank 16,
batch 1, fp32 on the CPU). Each configuration runs in its own process, so its peak memory (VmHWM) is its
own. Run it under the shared lock (it needs ~10 GB):

    flock /tmp/shootstudio-heavy.lock python tests/benchmarks/bench_training.py [STEPS [THREADS]]

THREADS sets torch's thread count (default: torch's own); on a shared, loaded CPU 1 thread is steadier.

Prints a table: seconds per training step (forward + backward + AdamW; the first step separately, it
includes one-off allocations), steps/second, peak RSS, and ratios against the run without checkpointing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    "no gradient checkpointing": {"gradient_checkpointing": False},
    "gradient checkpointing": {"gradient_checkpointing": True},
}
BASELINE = "no gradient checkpointing"


def peak_rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def real_size_components(folder: Path):
    """SD 1.5's UNet / VAE / text encoder / scheduler from the bundled configs, random weights."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from engine.models.tiny import _write_clip_tokenizer
    from engine.training.trainer import Components

    configs = ROOT / "engine" / "resources" / "sd15"
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(configs / "unet"))
    vae = AutoencoderKL.from_config(AutoencoderKL.load_config(configs / "vae"))
    text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(configs / "text_encoder"))
    tokenizer = CLIPTokenizer.from_pretrained(_write_clip_tokenizer(folder / "tokenizer"))
    scheduler = DDPMScheduler.from_config(DDPMScheduler.load_config(configs / "scheduler"))
    return Components(unet, vae, text_encoder, tokenizer, scheduler, model_name="sd15 (random weights)")


def child(name: str, steps: int, threads: int) -> None:
    """One configuration, in this process: build, train `steps` steps, print one JSON line."""
    sys.path.insert(0, str(ROOT))
    import torch

    if threads:
        torch.set_num_threads(threads)

    from engine.runtime.jobs import Job, JobContext
    from engine.training.config import TrainingConfig
    from engine.training.trainer import LoraTrainer
    from tests.fixtures.lora import product_photos

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        parts = real_size_components(folder)
        build_s = time.monotonic() - started
        params = sum(p.numel() for p in parts.unet.parameters())
        rss_models = peak_rss_gb()
        product_photos(folder / "shoot", [(768, 768)] * steps)  # one step per image (batch 1, 1 repeat)
        config = TrainingConfig(
            folder=folder / "shoot", tag="ppzocketv2", out=folder / "out" / "bench.safetensors", rank=16,
            repeats=1, epochs=1, batch_size=1, resolution=512, **CONFIGS[name],
        )  # fmt: skip
        trainer = LoraTrainer(config, parts, torch.device("cpu"), JobContext(Job(lambda ctx: None)))
        step_times: list[float] = []
        timed_step = trainer._train_step

        def step(indices):
            begin = time.monotonic()
            loss = timed_step(indices)
            step_times.append(time.monotonic() - begin)
            return loss

        trainer._train_step = step
        result = trainer.run()
        print(json.dumps({
            "name": name, "steps": result.steps, "step_s": step_times, "build_s": build_s,
            "unet_params": params, "rss_models_gb": rss_models, "peak_rss_gb": peak_rss_gb(),
            "threads": torch.get_num_threads(), "loss": result.losses,
        }))  # fmt: skip


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    load = os.getloadavg()[0]
    rows = {}
    for name in CONFIGS:
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, str(steps), str(threads)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode or not lines:
            print(f"{name}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            sys.exit(1)
        rows[name] = json.loads(lines[-1])
    base = rows[BASELINE]
    base_step = sum(base["step_s"][1:]) / max(1, len(base["step_s"]) - 1)
    first = next(iter(rows.values()))
    millions = first["unet_params"] / 1e6
    print(f"\nLoRA training, real-size SD 1.5 (UNet {millions:.0f} M params, random weights), "
          f"512², rank 16, batch 1, fp32, CPU, {first['threads']} torch threads, {steps} steps each; "
          f"load average at start {load:.1f}")  # fmt: skip
    header = f"{'configuration':<28}{'1st step s':>11}{'step s':>9}{'steps/s':>9}{'peak RSS GB':>13}"
    print(header + f"{'models GB':>11}{'× time':>8}{'× memory':>10}")
    print("-" * (len(header) + 29))
    for name, row in rows.items():
        later = row["step_s"][1:] or row["step_s"]
        step_s = sum(later) / len(later)
        memory_ratio = row["peak_rss_gb"] / base["peak_rss_gb"]
        print(
            f"{name:<28}{row['step_s'][0]:>11.1f}{step_s:>9.1f}{1 / step_s:>9.3f}{row['peak_rss_gb']:>13.1f}"
            f"{row['rss_models_gb']:>11.1f}{step_s / base_step:>8.2f}{memory_ratio:>10.2f}"
        )
    print("\n'step s': mean of the steps after the first; 'models GB': peak RSS after building the models,"
          " before training.")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
