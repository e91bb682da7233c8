"""`python main.py inpaint ...` end to end on tiny models: outputs, names, and exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cli.main import main as cli
from engine.imaging.outputs import parse_parameters
from tests.fixtures.enhance import box_mask, save_mask, textured_rgb, write_models_toml

TINY_ARGS = ["--steps", "2", "--work-size", "64", "--padding", "8", "--device", "cpu"]


@pytest.fixture
def shoot(tmp_path):
    image = tmp_path / "IMG_0042.jpg"
    Image.fromarray(textured_rgb(96, 128)).save(image, quality=92)
    mask = save_mask(box_mask(96, 128, (50, 30, 80, 60)), tmp_path / "IMG_0042_mask.png")
    return image, mask


def test_inpaint_writes_named_variants_with_parameters(shoot, tiny_models, tmp_path, capsys):
    image, mask = shoot
    before = image.read_bytes()
    out = tmp_path / "enhanced"
    options = ["--class", "watch", "--seed", "5", "--variants", "2", "--out", str(out)]
    code = cli(
        ["inpaint", str(image), "--mask", str(mask), *options, "--models", str(tiny_models), *TINY_ARGS]
    )
    assert code == 0
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["IMG_0042_enh_5.png", "IMG_0042_enh_6.png"]
    assert capsys.readouterr().out.split() == [str(p) for p in written]
    fields = parse_parameters(Image.open(written[0]).info["parameters"])
    assert fields["Seed"] == "5" and "watch" in fields["Prompt"] and fields["Steps"] == "2"
    assert image.read_bytes() == before  # the original is untouched
    # Running again never overwrites the first outputs.
    assert (
        cli(
            [
                "inpaint",
                str(image),
                "--mask",
                str(mask),
                "--seed",
                "5",
                "--out",
                str(out),
                "--models",
                str(tiny_models),
                *TINY_ARGS,
            ]
        )
        == 0
    )
    assert (out / "IMG_0042_enh_5-2.png").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("empty-mask", "mask is empty"),
        ("small-mask", "the image is 128×96"),
        ("missing-image", "not found"),
        ("out-is-original", "originals are never written"),
        ("bad-strength", "strength"),
        ("bad-lora", "only .safetensors"),
    ],
)
def test_bad_input_exits_2_with_a_message(shoot, tiny_models, tmp_path, capsys, change, message):
    image, mask = shoot
    out = tmp_path / "out"
    extra = []
    if change == "empty-mask":
        save_mask(np.zeros((96, 128), np.uint8), mask)
    elif change == "small-mask":
        save_mask(np.zeros((50, 50), np.uint8) + 255, mask)
    elif change == "missing-image":
        image = tmp_path / "nope.jpg"
    elif change == "out-is-original":
        out = image.with_suffix(".png")
        image.rename(out)
        image = out
    elif change == "bad-strength":
        extra = ["--strength", "1.5"]
    elif change == "bad-lora":
        (tmp_path / "style.ckpt").write_bytes(b"x")
        extra = ["--lora", str(tmp_path / "style.ckpt")]
    code = cli(
        [
            "inpaint",
            str(image),
            "--mask",
            str(mask),
            "--out",
            str(out),
            "--models",
            str(tiny_models),
            *TINY_ARGS,
            *extra,
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_models_exit_3_and_name_the_role(shoot, tmp_path, capsys):
    image, mask = shoot
    toml = write_models_toml(tmp_path / "models.toml", {"inpaint": {"path": str(tmp_path / "no-such-model")}})
    code = cli(
        [
            "inpaint",
            str(image),
            "--mask",
            str(mask),
            "--out",
            str(tmp_path / "out"),
            "--models",
            str(toml),
            *TINY_ARGS,
        ]
    )
    assert code == 3
    assert "Model 'inpaint' not found" in capsys.readouterr().err


def test_inpaint_report_and_output_carry_each_variants_fidelity(shoot, tiny_models, tmp_path, capsys):
    import json

    from engine.diffusion.fidelity import FIDELITY_TEXT_KEY, GRADES

    image, mask = shoot
    out, report = tmp_path / "enhanced", tmp_path / "run.json"
    options = ["--seed", "5", "--variants", "2", "--out", str(out), "--report", str(report)]
    arguments = ["inpaint", str(image), "--mask", str(mask), *options, "--check-shape"]
    assert cli([*arguments, "--models", str(tiny_models), *TINY_ARGS]) == 0
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [v["seed"] for v in data["variants"]] == [5, 6]
    for entry in data["variants"]:
        figures = entry["fidelity"]
        assert figures["grade"] in GRADES
        assert figures["delta_e_mean"] >= 0 and figures["delta_e_p95"] >= 0
        assert -1 <= figures["ssim"] <= 1 and 0 <= figures["shape_iou"] <= 1
        # The same figures ride in the PNG's own text chunk; A1111's `parameters` text is untouched.
        with Image.open(entry["path"]) as written:
            assert json.loads(written.info[FIDELITY_TEXT_KEY]) == figures
            assert FIDELITY_TEXT_KEY not in written.info["parameters"]
    assert f"{Path(data['variants'][0]['path']).name}: " in capsys.readouterr().err
