"""Every kind of bad or unusual input gets the right verdict or a clear error, and the run goes on.

Driven through `python main.py filter` (in-process) on the tiny models, with --report."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cli.main import main as cli
from engine.project.store import STORE_DIRNAME
from tests.fixtures.filter import shoot_image

TINY_SAM_ARGS = ["--points-per-side", "2", "--iou-thresh", "0", "--stability-thresh", "0"]


def _bad_shoot(folder):
    """A folder with one file of each awkward kind; returns {name: expected verdict kind}."""
    shoot_image(folder / "plain.png")
    rgb = np.asarray(Image.open(folder / "plain.png"))
    (folder / "zero bytes.jpg").write_bytes(b"")
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    (folder / "notes.png").write_text("this is not an image")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    deep = (rgb[..., 0].astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(deep).save(folder / "deep16.png")  # mode I;16
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "palette.png")
    rgba = np.dstack([rgb, np.where(rgb[..., 0] > 100, 255, 0).astype(np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    Image.fromarray(rgb).convert("L").save(folder / "gray.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    Image.fromarray(rgb).save(folder / "rotated.jpg", exif=exif)
    shoot_image(folder / "name with spaces é ü 商品.png", color=(20, 20, 200))
    shoot_image(folder / "sub folder" / "nested.png", color=(20, 200, 20))
    return {
        "zero bytes.jpg": "empty file",
        "truncated.jpg": "truncated",
        "notes.png": "not an image",
    }


def _digests(folder):
    return {
        p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and STORE_DIRNAME not in p.parts
    }


def _run(folder, tiny_models, tmp_path, *extra):
    report = tmp_path / "report.json"
    code = cli(
        ["filter", str(folder), "--models", str(tiny_models), "--report", str(report), *TINY_SAM_ARGS, *extra]
    )
    return code, json.loads(report.read_text(encoding="utf-8"))


def test_bad_inputs_get_a_verdict_or_a_clear_error(tiny_models, tmp_path, capsys):
    folder = tmp_path / "shoot"
    errors = _bad_shoot(folder)
    before = _digests(folder)
    code, report = _run(folder, tiny_models, tmp_path, "--recursive")
    assert code == 0  # the run completed, although some images are unreadable
    by_name = {entry["path"].split("/shoot/")[1]: entry for entry in report["images"]}
    assert set(by_name) == {str(p) for p in before}  # every file, the nested and non-ASCII ones too
    for name, entry in by_name.items():
        if name in errors:
            assert entry["verdict"] == "error", name
            assert errors[name] in entry["error"] and name in entry["error"]
        else:
            assert entry["verdict"] in ("product", "skipped", "uncertain"), (name, entry)
            assert entry["error"] is None and entry["regions_scored"] >= 1
    assert _digests(folder) == before  # originals untouched
    out = capsys.readouterr().out
    assert "zero bytes.jpg" in out and "empty file" in out and "12 images:" in out


def test_other_classes_on_the_command_line_rescore_the_stored_regions(tiny_models, tmp_path, capsys):
    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    shoot_image(folder / "b.png", color=(20, 40, 200))
    _run(folder, tiny_models, tmp_path)
    assert "(0 decided from stored scores)" in capsys.readouterr().out
    code, report = _run(folder, tiny_models, tmp_path, "--classes", "hand bag,shoe")
    assert code == 0 and report["classes"] != []
    assert "(0 decided from stored scores, 2 re-scored from stored regions)" in capsys.readouterr().out


def test_exif_rotation_is_applied_before_segmenting(tiny_models, tmp_path):
    import sqlite3

    folder = tmp_path / "shoot"
    _bad_shoot(folder)
    _run(folder, tiny_models, tmp_path)
    db = sqlite3.connect(folder / STORE_DIRNAME / "project.db")
    sizes = dict(
        db.execute(
            "SELECT f.rel_path, r.width || 'x' || r.height FROM files f JOIN results r USING(image_id)"
        )
    )
    assert sizes["plain.png"] == "160x120" and sizes["rotated.jpg"] == "120x160"
    assert "sub folder/nested.png" not in sizes  # not --recursive: subfolders are left alone


def test_read_only_folder_keeps_its_store_elsewhere(tiny_models, tmp_path, monkeypatch):
    import engine.project.location as location_module

    real = location_module._writable_dir
    # Root ignores permission bits: make the probe see what a read-only card shows.
    monkeypatch.setattr(location_module, "_writable_dir", lambda p: p.name != STORE_DIRNAME and real(p))
    folder = tmp_path / "card"
    shoot_image(folder / "a.png")
    folder.chmod(0o555)
    try:
        code, report = _run(folder, tiny_models, tmp_path)
    finally:
        folder.chmod(0o755)
    assert code == 0 and report["images"][0]["verdict"] != "error"
    assert "xdg-data" in report["store"] and not (folder / STORE_DIRNAME).exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["filter", "/no/such/folder"], 2, "is not a folder"),
        (["filter", "{folder}", "--classes", " , "], 2, "no product classes"),
        (["filter", "{folder}", "--classes", "{folder}/missing.toml"], 2, "not found"),
        (["filter", "{folder}", "--models", "{folder}/models.toml"], 3, "sam"),
    ],
)
def test_bad_usage_and_missing_models(args, code, message, tmp_path, capsys):
    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    (folder / "models.toml").write_text('[sam]\npath = "nowhere.pth"\n')
    assert cli([a.format(folder=folder) for a in args]) == code
    assert message in capsys.readouterr().err


def test_a_raw_and_jpeg_pair_is_filtered_once_through_its_jpeg(tiny_models, tmp_path):
    from tests.fixtures.raw import write_dng

    folder = tmp_path / "shoot"
    shoot_image(folder / "IMG_0001.jpg")
    write_dng(folder / "IMG_0001.dng")
    write_dng(folder / "IMG_0002.dng")
    code, report = _run(folder, tiny_models, tmp_path)
    assert code == 0
    assert sorted(Path(image["path"]).name for image in report["images"]) == ["IMG_0001.jpg", "IMG_0002.dng"]


def test_grounded_proposals_give_a_verdict_under_their_own_run_key(tiny_models, tmp_path, capsys):
    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    code, exact = _run(folder, tiny_models, tmp_path)
    code2, grounded = _run(folder, tiny_models, tmp_path, "--proposals", "grounded", "--box-threshold", "0")
    assert code == code2 == 0 and grounded["run_key"] != exact["run_key"]
    image = grounded["images"][0]
    assert image["verdict"] in ("product", "uncertain", "skipped") and image["regions_scored"] >= 1
    assert "(0 decided from stored scores)" in capsys.readouterr().out  # nothing shared with exact mode


def test_a_box_threshold_out_of_range_is_a_usage_error(tiny_models, tmp_path, capsys):
    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    args = ["filter", str(folder), "--proposals", "grounded", "--box-threshold", "1.5"]
    assert cli([*args, "--models", str(tiny_models)]) == 2
    assert "--box-threshold 1.5: use a number from 0 to 1" in capsys.readouterr().err


def test_grounded_mode_without_a_detector_exits_3_naming_the_role(tiny_models, tmp_path, capsys):
    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    toml = tiny_models.read_text().replace('path = "owlv2-tiny"', 'path = "owlv2-missing"')
    models = tiny_models.parent / "no-detector.toml"
    models.write_text(toml)
    assert cli(["filter", str(folder), "--models", str(models), "--proposals", "grounded"]) == 3
    err = capsys.readouterr().err
    assert "Model 'detector' not found" in err and "models download detector" in err
    assert cli(["filter", str(folder), "--models", str(models), *TINY_SAM_ARGS]) == 0  # exact needs none


def test_coarse_proposals_from_the_command_line(tiny_models, tmp_path, capsys):
    """`--proposals coarse` gives every image regions and a verdict, stored apart from the exact mode's
    (a later exact run finds nothing to reuse)."""
    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    shoot_image(folder / "b.png", color=(20, 40, 200))
    code, report = _run(folder, tiny_models, tmp_path, "--points-per-side", "4", "--proposals", "coarse")
    assert code == 0
    assert [e["verdict"] in ("product", "skipped", "uncertain") for e in report["images"]] == [True, True]
    assert all(e["regions_scored"] >= 1 for e in report["images"])
    capsys.readouterr()
    code, _ = _run(folder, tiny_models, tmp_path, "--points-per-side", "4")
    assert code == 0 and "(0 decided from stored scores)" in capsys.readouterr().out


def test_compile_falls_back_to_the_plain_encoder_with_the_same_verdicts(tiny_models, tmp_path, monkeypatch):
    """`--compile` where the compiler cannot build (as on a machine without a C++ toolchain): the run
    completes with the plain encoder and decides as a run without the flag does."""
    import torch

    class CppCompileError(Exception):
        pass

    CppCompileError.__module__ = "torch._inductor.exc"
    builds = []

    def no_compiler(module, **kwargs):
        def build(batch):
            builds.append(1)
            raise CppCompileError("no C++ compiler found")

        return build

    monkeypatch.setattr(torch, "compile", no_compiler)
    for name in ("compiled", "plain"):  # two folders: each run decides for itself, nothing is reused
        shoot_image(tmp_path / name / "a.png")
        shoot_image(tmp_path / name / "b.png", color=(20, 40, 200))
    code, compiled = _run(tmp_path / "compiled", tiny_models, tmp_path / "c", "--compile")
    code2, plain = _run(tmp_path / "plain", tiny_models, tmp_path / "p")
    assert code == code2 == 0 and builds == [1]  # tried once, then the plain encoder
    assert [e["verdict"] for e in compiled["images"]] == [e["verdict"] for e in plain["images"]]
