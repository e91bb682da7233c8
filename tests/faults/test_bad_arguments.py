"""Every subcommand over a table of bad arguments and bad files: the documented exit code (2 bad usage or
input, 3 a model that cannot load), exactly one `error:` line on stderr, and no traceback.

Every case is refused before a model runs (the tiny models' files are never read past models.toml, except
where a case is about a model file)."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from PIL import Image

from tests.faults.helpers import run_cli, small_shoot


class _Payload:
    def __reduce__(self):
        return (print, ("payload ran",))


@pytest.fixture
def files(tmp_path, tiny_models):
    """A shoot, a mask, bad files of each kind, and paths of the session's tiny models."""
    shoot = small_shoot(tmp_path / "shoot", 1)
    image = shoot / "img0.png"
    mask = tmp_path / "mask.png"
    Image.fromarray(np.full((120, 160), 255, np.uint8)).save(mask)
    buffer = io.BytesIO()
    Image.fromarray(np.full((120, 160), 255, np.uint8)).save(buffer, "PNG")
    (tmp_path / "truncated_mask.png").write_bytes(buffer.getvalue()[:60])
    lora = tmp_path / "style.safetensors"
    lora.write_bytes(b"not read before the scale is checked")
    (tmp_path / "unsafe.resume.pt").write_bytes(pickle.dumps({"state": _Payload()}))
    classes = {
        "prompts_text": 'other = ["a wall."]\n[[class]]\nname = "bag"\nprompts = "a bag"\n',
        "threshold_negative": 'other = ["a wall."]\n[[class]]\nname = "bag"\nthreshold = -0.5\n',
        "threshold_seven": 'other = ["a wall."]\n[[class]]\nname = "bag"\nthreshold = 7\n',
        "threshold_nan": 'other = ["a wall."]\n[[class]]\nname = "bag"\nthreshold = nan\n',
        "band_negative": 'uncertain_band = -1\nother = ["a wall."]\n[[class]]\nname = "bag"\n',
        "name_number": 'other = ["a wall."]\n[[class]]\nname = 5\n',
    }
    for name, text in classes.items():
        (tmp_path / f"{name}.toml").write_text(text)
    return {
        "tmp": tmp_path,
        "shoot": shoot,
        "image": image,
        "mask": mask,
        "lora": lora,
        "models": tiny_models,
        "train": small_shoot(tmp_path / "train", 1),
    }


def _inpaint(f, *extra):
    return [
        "inpaint",
        f["image"],
        "--mask",
        f["mask"],
        "--out",
        f["tmp"] / "out",
        "--models",
        f["models"],
        *extra,
    ]


def _train(f, *extra):
    out = f["tmp"] / "lora.safetensors"
    base = [
        "train-lora",
        f["train"],
        "--tag",
        "pp",
        "--out",
        out,
        "--resolution",
        "64",
        "--models",
        f["models"],
    ]
    return [*base, *extra]


CASES = {
    # filter
    "filter: no such folder": (lambda f: ["filter", f["tmp"] / "nope"], 2, "not a folder"),
    "filter: --iou-thresh 5": (lambda f: ["filter", f["shoot"], "--iou-thresh", "5"], 2, "--iou-thresh"),
    "filter: --stability-thresh -1": (
        lambda f: ["filter", f["shoot"], "--stability-thresh", "-1"],
        2,
        "--stability-thresh",
    ),
    "filter: --points-per-side 0": (lambda f: ["filter", f["shoot"], "--points-per-side", "0"], 2, "points"),
    **{
        f"filter: classes {name}": (
            lambda f, name=name: ["filter", f["shoot"], "--classes", f["tmp"] / f"{name}.toml"],
            2,
            word,
        )
        for name, word in {
            "prompts_text": "prompts",
            "threshold_negative": "threshold",
            "threshold_seven": "threshold",
            "threshold_nan": "threshold",
            "band_negative": "uncertain_band",
            "name_number": "name",
        }.items()
    },
    "filter: --models missing": (
        lambda f: ["filter", f["shoot"], "--models", f["tmp"] / "no.toml"],
        3,
        "no.toml",
    ),
    "filter: --device cuda without a GPU": (
        lambda f: ["filter", f["shoot"], "--models", f["models"], "--device", "cuda"],
        2,
        "cuda",
    ),
    # inpaint
    "inpaint: no such image": (
        lambda f: ["inpaint", f["tmp"] / "no.png", "--mask", f["mask"], "--out", f["tmp"]],
        2,
        "no.png",
    ),
    "inpaint: --control-scale nan": (lambda f: _inpaint(f, "--control-scale", "nan"), 2, "--control-scale"),
    "inpaint: --control-scale inf": (lambda f: _inpaint(f, "--control-scale", "inf"), 2, "--control-scale"),
    "inpaint: --guidance nan": (lambda f: _inpaint(f, "--guidance", "nan"), 2, "--guidance"),
    "inpaint: --lora F:nan": (lambda f: _inpaint(f, "--lora", f"{f['lora']}:nan"), 2, "scale"),
    "inpaint: --lora F:1e30": (lambda f: _inpaint(f, "--lora", f"{f['lora']}:1e30"), 2, "scale"),
    "inpaint: --steps 1 at default strength": (lambda f: _inpaint(f, "--steps", "1"), 2, "steps"),
    "inpaint: truncated mask": (
        lambda f: ["inpaint", f["image"], "--mask", f["tmp"] / "truncated_mask.png", "--out", f["tmp"] / "o"],
        2,
        "truncated_mask.png",
    ),
    # generate
    "generate: --steps 0": (
        lambda f: ["generate", "--prompt", "a bag", "--out", f["tmp"] / "g", "--steps", "0"],
        2,
        "steps",
    ),
    "generate: --guidance nan": (
        lambda f: ["generate", "--prompt", "a bag", "--out", f["tmp"] / "g", "--guidance", "nan"],
        2,
        "guidance",
    ),
    # caption
    "caption: no such folder": (lambda f: ["caption", f["tmp"] / "nope"], 2, "nope"),
    # train-lora
    "train-lora: --rank 0": (lambda f: _train(f, "--rank", "0"), 2, "rank"),
    "train-lora: --lr-warmup-steps -5": (lambda f: _train(f, "--lr-warmup-steps", "-5"), 2, "warmup"),
    "train-lora: --sample-count -1": (lambda f: _train(f, "--sample-count", "-1"), 2, "sample"),
    "train-lora: --lr nan": (lambda f: _train(f, "--lr", "nan"), 2, "--lr"),
    "train-lora: --resume an unsafe pickle": (
        lambda f: _train(f, "--resume", f["tmp"] / "unsafe.resume.pt"),
        2,
        "unsafe",
    ),
    # export
    "export: no such folder": (
        lambda f: ["export", f["tmp"] / "nope", "--out", f["tmp"] / "e"],
        2,
        "not a folder",
    ),
    "export: --out inside the shoot": (
        lambda f: ["export", f["shoot"], "--out", f["shoot"] / "export"],
        2,
        "inside",
    ),
    "export: unknown preset": (
        lambda f: ["export", f["shoot"], "--out", f["tmp"] / "e", "--preset", "nope"],
        2,
        "nope",
    ),
    "export: --soft-edges -3": (
        lambda f: ["export", f["shoot"], "--out", f["tmp"] / "e", "--soft-edges", "-3"],
        2,
        "soft_edges",
    ),
    # models
    "models status: --models missing": (
        lambda f: ["models", "status", "--models", f["tmp"] / "no.toml"],
        3,
        "no.toml",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_argument_or_file(case, files, capsys):
    argv, expected_code, named = CASES[case]
    code, out, error = run_cli(capsys, *argv(files))
    assert "payload ran" not in out
    assert (code, error.count("\n")) == (expected_code, 0), (code, error, out[-300:])
    assert error.startswith("error:") and named in error, error
    if "--rank" in case:
        assert "alpha" not in error
