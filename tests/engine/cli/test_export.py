"""`export` on the command line: through the engine's job, files and summary, exit codes for bad input."""

from __future__ import annotations

import json

from engine.cli.main import main as cli
from tests.fixtures.export import make_shoot


def test_export_command_writes_masks_coco_labelme_and_manifest(tmp_path, capsys):
    make_shoot(tmp_path / "shoot")
    out = tmp_path / "out"
    code = cli(["export", str(tmp_path / "shoot"), "--out", str(out), "--preset", "masks for labelling"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "no mask: IMG_0044.png" in printed and "2 exported, 1 no mask" in printed
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "IMG_0042.json", "IMG_0042_mask.png", "IMG_0043.json", "IMG_0043_mask.png",
        "annotations_coco.json", "manifest.csv", "manifest.json",
    ]  # fmt: skip
    assert len(json.loads((out / "annotations_coco.json").read_text())["annotations"]) == 3


def test_switches_override_the_preset_and_select_a_class(tmp_path, capsys):
    make_shoot(tmp_path / "shoot")
    out = tmp_path / "out"
    args = ["export", str(tmp_path / "shoot"), "--out", str(out), "--select", "class:hand bag"]
    assert cli([*args, "--preset", "transparent PNG cut-out", "--no-cutouts", "--masks"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "IMG_0042_mask.png", "IMG_0045_mask.png", "manifest.csv", "manifest.json",
    ]  # fmt: skip


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    make_shoot(tmp_path / "shoot")
    inside = ["export", str(tmp_path / "shoot"), "--out", str(tmp_path / "shoot" / "out")]
    assert cli(inside) == 2
    assert "inside the shoot" in capsys.readouterr().err
    assert cli(["export", str(tmp_path / "shoot"), "--out", str(tmp_path / "o"), "--preset", "nope"]) == 2
    assert "Unknown preset 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "shoot" / "out").exists()
