"""`kill -9` in the middle of a run loses nothing: the store passes SQLite's integrity check, no temp file
is left, and running the same command again gives the verdicts of an uninterrupted run.

The kill lands at a random point (seeded, printed on failure): after a random number of images have
their results committed, while the next one is being processed."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from engine.cli.main import main as cli
from engine.project.store import STORE_DIRNAME
from tests.faults.helpers import TINY_SAM_ARGS, small_shoot

ROOT = Path(__file__).resolve().parents[2]
IMAGES = 6


def _filter_args(folder: Path, models: Path, report: Path) -> list[str]:
    return ["filter", str(folder), "--models", str(models), "--report", str(report), *TINY_SAM_ARGS]


def _results(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def _verdicts(report: Path) -> dict[str, tuple]:
    images = json.loads(report.read_text("utf-8"))["images"]
    return {Path(i["path"]).name: (i["verdict"], json.dumps(i["classes"], sort_keys=True)) for i in images}


def test_kill_9_during_filter_loses_nothing(tiny_models, tmp_path):
    seed = int(os.environ.get("SHOOTSTUDIO_FAULT_SEED", random.randrange(1 << 16)))
    after = random.Random(seed).randrange(IMAGES - 1)  # results committed before the kill
    killed, clean = small_shoot(tmp_path / "killed", IMAGES), small_shoot(tmp_path / "clean", IMAGES)
    process = subprocess.Popen(
        [sys.executable, "main.py", *_filter_args(killed, tiny_models, tmp_path / "unused.json")],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = killed / STORE_DIRNAME / "project.db"
    deadline = time.monotonic() + 300
    while _results(db) <= after and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"seed {seed}: the run ended before the kill"

    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"seed {seed}"
    for folder, report in ((killed, tmp_path / "resumed.json"), (clean, tmp_path / "clean.json")):
        assert cli(_filter_args(folder, tiny_models, report)) == 0  # in this process: the same code
    resumed = json.loads((tmp_path / "resumed.json").read_text("utf-8"))["images"]
    assert sum(i["reused"] for i in resumed) >= after + 1, f"seed {seed}: finished images were done again"
    assert _verdicts(tmp_path / "resumed.json") == _verdicts(tmp_path / "clean.json"), f"seed {seed}"
    assert not [p for p in (killed / STORE_DIRNAME).rglob("*.tmp")], f"seed {seed}: temp files left"


# The save of three inpaint variants, killed at its N-th file rename (3 staged files, the COMMIT list,
# then 3 renames into place): a real SIGKILL from inside the process, at a seeded random N.
# A script prefix: argv[1] is the output folder, argv[2] the rename into it that SIGKILLs the process.
KILLER = """
import os, signal, sys
out, at = sys.argv[1], int(sys.argv[2])
replace, count = os.replace, [0]
def killing_replace(src, dst, *args, **kwargs):
    if str(dst).startswith(out):
        count[0] += 1
        if count[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
    return replace(src, dst, *args, **kwargs)
os.replace = killing_replace
"""

KILL_AT_RENAME = (
    KILLER
    + """
from engine.cli.main import main
sys.exit(main(sys.argv[3:]))
"""
)


def test_kill_9_during_inpaint_save_writes_all_variants_or_none(tiny_models, tmp_path):
    from PIL import Image

    from engine.runtime.staged import STAGING_PREFIX, recover_staged
    from tests.engine.cli.test_inpaint import TINY_ARGS
    from tests.fixtures.enhance import box_mask, save_mask, textured_rgb

    seed = int(os.environ.get("SHOOTSTUDIO_FAULT_SEED", random.randrange(1 << 16)))
    at = random.Random(seed).randint(1, 7)
    image = tmp_path / "IMG_1.jpg"
    Image.fromarray(textured_rgb(96, 128)).save(image)
    mask = save_mask(box_mask(96, 128, (50, 30, 80, 60)), tmp_path / "mask.png")
    out = tmp_path / "out"
    args = ["inpaint", image, "--mask", mask, "--variants", "3", "--seed", "1", "--out", out,
            "--models", tiny_models, *TINY_ARGS]  # fmt: skip
    process = subprocess.run(
        [sys.executable, "-c", KILL_AT_RENAME, str(out), str(at), *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        timeout=600,
    )
    assert process.returncode == -signal.SIGKILL, (seed, at, process.stderr[-2000:])
    recover_staged(out)  # what the next save into the folder does first
    written = sorted(p.name for p in out.iterdir())
    expected = [] if at <= 4 else ["IMG_1_enh_1.png", "IMG_1_enh_2.png", "IMG_1_enh_3.png"]
    assert written == expected, (seed, at, written)  # all or none, and nothing else (no temp, no staging)
    assert not any(name.startswith(STAGING_PREFIX) for name in written)


def _train_args(folder: Path, out: Path, models: Path, *extra) -> list[str]:
    return ["train-lora", str(folder), "--tag", "ppzocketv2", "--out", str(out), "--models", str(models),
            "--rank", "4", "--lr", "1e-2", "--repeats", "2", "--epochs", "5", "--batch-size", "2",
            "--resolution", "128", "--seed", "7", *extra]  # fmt: skip


def test_kill_9_during_training_resumes_to_the_same_lora(tiny_models, tmp_path):
    from safetensors.torch import load_file

    from tests.fixtures.lora import product_photos

    seed = int(os.environ.get("SHOOTSTUDIO_FAULT_SEED", random.randrange(1 << 16)))
    rng = random.Random(seed)
    # Killed after this checkpoint, a bit later: with 3+ epochs still to go the run is still working then,
    # on a fast idle machine too (where the whole run takes a couple of seconds).
    epoch, delay = rng.choice((1, 2)), rng.uniform(0.0, 0.25)
    folder = tmp_path / "shoot"
    product_photos(folder, [(64, 64), (64, 64), (80, 80)], seed=1)
    cut = tmp_path / "cut.safetensors"
    checkpoint = tmp_path / "cut-checkpoints" / f"cut-{epoch:06d}.safetensors"
    process = subprocess.Popen(
        [sys.executable, "main.py", *_train_args(folder, cut, tiny_models)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"seed {seed}: training ended before the kill"
    # Killed after the final LoRA's atomic rename (a fast machine gets there within the delay), the LoRA is
    # whole; killed before it, there is none and the resume writes it. Never a partial file either way.
    if not cut.exists():
        resume = tmp_path / "cut-checkpoints" / "cut.resume.pt"
        assert cli(_train_args(folder, cut, tiny_models, "--resume", str(resume))) == 0
    whole = tmp_path / "whole.safetensors"
    assert cli(_train_args(folder, whole, tiny_models)) == 0
    a, b = load_file(str(whole)), load_file(str(cut))
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].equal(b[key]), f"seed {seed}: {key} differs after resuming"  # bit-identical
    assert not [p for p in tmp_path.rglob("*.tmp")], f"seed {seed}: temp files left"


# Batch enhancement of two images × two variants, killed at its N-th rename into the output folder (per
# image: 2 staged files, the COMMIT list, 2 renames).
BATCH_KILLED = (
    KILLER
    + """
from pathlib import Path
from tests.faults.test_kill import run_batch
run_batch(Path(sys.argv[3]), Path(sys.argv[4]), Path(out))
"""
)


def run_batch(models: Path, shoot: Path, out: Path):
    from engine.diffusion.batch import BatchItem, enhance_batch
    from engine.diffusion.recipes import EnhanceRecipe
    from engine.models.config import ModelsConfig
    from engine.models.registry import ModelRegistry
    from tests.fixtures.enhance import box_mask

    items = [BatchItem(path, box_mask(96, 128, (50, 30, 80, 60))) for path in sorted(shoot.glob("*.jpg"))]
    recipe = EnhanceRecipe(steps=2, work_size=64, padding=8, variants=2, seed=3)
    return enhance_batch(items, recipe, ModelRegistry(ModelsConfig.load(models), "cpu"), out)


def test_kill_9_during_batch_enhance_resumes_to_the_uninterrupted_result(tiny_models, tmp_path):
    import numpy as np
    from PIL import Image

    from tests.fixtures.enhance import textured_rgb

    seed = int(os.environ.get("SHOOTSTUDIO_FAULT_SEED", random.randrange(1 << 16)))
    at = random.Random(seed).randint(1, 10)
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for index in range(2):
        Image.fromarray(textured_rgb(96, 128, seed=index)).save(shoot / f"IMG_{index}.jpg")
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    process = subprocess.run(
        [sys.executable, "-c", BATCH_KILLED, str(killed), str(at), str(tiny_models), str(shoot)],
        cwd=ROOT,
        capture_output=True,
        timeout=600,
    )
    assert process.returncode == -signal.SIGKILL, (seed, at, process.stderr[-2000:])
    report = run_batch(tiny_models, shoot, killed)  # the same batch again: resumes
    assert len(report.already_done) == (at >= 4) + (at >= 9), (seed, at)  # committed sets are kept
    run_batch(tiny_models, shoot, clean)
    names = sorted(p.name for p in clean.iterdir())
    assert names == ["IMG_0_enh_3.png", "IMG_0_enh_4.png", "IMG_1_enh_3.png", "IMG_1_enh_4.png"]
    assert sorted(p.name for p in killed.iterdir()) == names, (seed, at)  # no temp, no staging, no extra
    for name in names:
        a, b = np.asarray(Image.open(killed / name)), np.asarray(Image.open(clean / name))
        assert np.array_equal(a, b), (seed, at, name)
