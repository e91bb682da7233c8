"""A full disk stops a run with exit 1 and one line saying so (never exit 0 with images marked `error`),
nothing half-written is left, and the same command completes once there is room again.

The disk fills through a patched writer (portable: CI may not mount a tmpfs): the mask writer raises
ENOSPC as a full filesystem does, or SQLite reports "database or disk is full"."""

from __future__ import annotations

import errno
import json
import sqlite3

import pytest

from engine.project import mask_records as store_module  # where the store writes mask files
from engine.project.store import STORE_DIRNAME, ProjectStore
from tests.faults.helpers import TINY_SAM_ARGS, run_cli, small_shoot


def _enospc_after(monkeypatch, calls: int) -> None:
    real = store_module.atomic_save
    count = {"n": 0}

    def atomic_save(path, save):
        count["n"] += 1
        if count["n"] > calls:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, save)

    monkeypatch.setattr(store_module, "atomic_save", atomic_save)


def _leftovers(root):
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_masks_disk_full_mid_run_exits_1_and_a_rerun_completes(tiny_models, tmp_path, capsys, monkeypatch):
    shoot = small_shoot(tmp_path / "shoot", 3)
    args = ["filter", shoot, "--models", tiny_models, *TINY_SAM_ARGS]
    _enospc_after(monkeypatch, 1)  # the first image's mask fits, the second's does not
    code, out, error = run_cli(capsys, *args)
    assert code == 1 and "disk full" in error and error.count("\n") == 0
    assert STORE_DIRNAME in error  # names where it could not write
    assert " error " not in out
    assert not _leftovers(shoot / STORE_DIRNAME)
    monkeypatch.undo()
    report = tmp_path / "report.json"
    code, out, _ = run_cli(capsys, *args, "--report", report)
    assert code == 0
    images = json.loads(report.read_text(encoding="utf-8"))["images"]
    assert len(images) == 3 and all(i["verdict"] != "error" for i in images)
    assert sum(i["reused"] for i in images) == 1  # the first image was kept from the stopped run


def test_database_disk_full_exits_1(tiny_models, tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ProjectStore, "save_result", full)
    shoot = small_shoot(tmp_path / "shoot", 2)
    code, out, error = run_cli(capsys, "filter", shoot, "--models", tiny_models, *TINY_SAM_ARGS)
    assert code == 1 and "disk full" in error and " error " not in out


def test_a_folder_whose_disk_is_full_gets_its_store_in_the_data_folder(tmp_path, monkeypatch):
    setup = ProjectStore._setup

    def full_in_folder(self):
        if STORE_DIRNAME in self.root.parts:
            raise sqlite3.OperationalError("database or disk is full")
        setup(self)

    monkeypatch.setattr(ProjectStore, "_setup", full_in_folder)
    shoot = small_shoot(tmp_path / "shoot", 1)
    with ProjectStore.open(shoot) as store:
        assert not store.in_folder and (tmp_path / "xdg-data") in store.root.parents
        store.register(shoot / "img0.png")
    assert not (shoot / STORE_DIRNAME).exists()  # no empty .shootstudio left behind


def test_an_existing_store_on_a_full_disk_is_not_replaced(tmp_path, monkeypatch):
    shoot = small_shoot(tmp_path / "shoot", 1)
    ProjectStore.open(shoot).close()
    monkeypatch.setattr(
        ProjectStore, "_setup", lambda self: (_ for _ in ()).throw(sqlite3.OperationalError("disk is full"))
    )
    with pytest.raises(sqlite3.OperationalError):
        ProjectStore.open(shoot)


@pytest.mark.parametrize("where", ["under a file", "a folder"])
def test_report_destination_is_checked_before_the_work(where, tiny_models, tmp_path, capsys):
    shoot = small_shoot(tmp_path / "shoot", 1)
    (tmp_path / "notes.txt").write_text("x")
    report = tmp_path / "notes.txt" / "report.json" if where == "under a file" else tmp_path
    code, _, error = run_cli(capsys, "filter", shoot, "--models", tiny_models, "--report", report)
    assert code == 2 and "--report" in error
    assert not (shoot / STORE_DIRNAME).exists()  # refused before any image was processed


def test_inpaint_out_under_a_file_is_refused_before_the_work(tmp_path, capsys):
    shoot = small_shoot(tmp_path / "shoot", 1)
    (tmp_path / "mask.png").write_bytes((shoot / "img0.png").read_bytes())
    (tmp_path / "file").write_text("x")
    code, _, error = run_cli(
        capsys,
        "inpaint",
        shoot / "img0.png",
        "--mask",
        tmp_path / "mask.png",
        "--out",
        tmp_path / "file" / "o",
    )
    assert code == 2 and "--out" in error


def test_inpaint_output_disk_full_writes_no_variant(tiny_models, tmp_path, capsys, monkeypatch):
    from PIL import Image

    from engine.runtime import staged
    from tests.engine.cli.test_inpaint import TINY_ARGS
    from tests.fixtures.enhance import box_mask, save_mask, textured_rgb

    real, count = staged.atomic_write_bytes, {"n": 0}

    def write(path, data):
        count["n"] += 1
        if count["n"] == 2:  # the first variant fits, the second does not
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(staged, "atomic_write_bytes", write)
    image = tmp_path / "IMG_2.jpg"
    Image.fromarray(textured_rgb(96, 128)).save(image)
    mask = save_mask(box_mask(96, 128, (50, 30, 80, 60)), tmp_path / "mask.png")
    out = tmp_path / "out"
    code, _, error = run_cli(
        capsys, "inpaint", image, "--mask", mask, "--variants", "3", "--out", out, "--models", tiny_models,
        *TINY_ARGS,
    )  # fmt: skip
    assert code == 1 and "disk full" in error and error.count("\n") == 0
    assert list(out.iterdir()) == []  # no variant, no temp file, no staging folder


def test_lora_disk_full_exits_1_with_no_partial_file_and_resumes(tiny_models, tmp_path, capsys, monkeypatch):
    from engine.training import kohya
    from tests.fixtures.lora import product_photos

    real = kohya.atomic_write_bytes

    def write(path, data):
        if path.name == "lora.safetensors":  # the checkpoints fit, the final LoRA does not
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(kohya, "atomic_write_bytes", write)
    folder = product_photos(tmp_path / "shoot", [(64, 64), (64, 64)], seed=1)[0].parent
    out = tmp_path / "lora.safetensors"
    args = ["train-lora", folder, "--tag", "pp", "--out", out, "--models", tiny_models, "--rank", "4",
            "--repeats", "1", "--epochs", "2", "--batch-size", "2", "--resolution", "128"]  # fmt: skip
    code, _, error = run_cli(capsys, *args)
    assert code == 1 and "disk full" in error and "lora.safetensors" in error and error.count("\n") == 0
    assert not out.exists() and not list(tmp_path.glob(".lora.safetensors.*"))  # no partial LoRA
    monkeypatch.undo()
    resume = tmp_path / "lora-checkpoints" / "lora.resume.pt"
    code, _, error = run_cli(capsys, *args, "--resume", resume)
    assert code == 0, error
    assert out.exists()
