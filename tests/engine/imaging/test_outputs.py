"""Output files: the AUTOMATIC1111 `parameters` text round-trips; writes are atomic and never overwrite."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.imaging.native import encode_png
from engine.imaging.outputs import format_parameters, free_path, parse_parameters, save_png


def test_parameters_round_trip_with_commas_quotes_and_newlines():
    text = format_parameters(
        "ppzocketv2, hand bag, studio photography\nsecond line",
        "blurry, text",
        steps=30,
        sampler="DPM++ 2M Karras",
        cfg_scale=7.5,
        seed=4294967295,
        size=(512, 512),
        model="sd15-inpainting",
        extra={"ControlNet 0": 'Module: depth, Model: "control", Weight: 1', "Mask blur": 4},
    )
    fields = parse_parameters(text)
    assert fields["Prompt"] == "ppzocketv2, hand bag, studio photography\nsecond line"
    assert fields["Negative prompt"] == "blurry, text"
    assert fields["Steps"] == "30" and fields["Sampler"] == "DPM++ 2M Karras" and fields["CFG scale"] == "7.5"
    assert fields["Seed"] == "4294967295" and fields["Size"] == "512x512"
    assert fields["ControlNet 0"] == 'Module: depth, Model: "control", Weight: 1'
    assert fields["Mask blur"] == "4"


def test_free_path_never_overwrites(tmp_path):
    first = free_path(tmp_path, "bag_enh_1")
    assert first.name == "bag_enh_1.png"
    first.write_bytes(b"x")
    second = free_path(tmp_path, "bag_enh_1")
    assert second.name == "bag_enh_1-2.png"


def test_save_png_is_atomic_and_carries_the_chunk(tmp_path):
    target = tmp_path / "out" / "a.png"
    save_png(Image.new("RGB", (8, 8), "red"), target, parameters="a prompt\nSteps: 2, Seed: 1")
    assert Image.open(target).info["parameters"].startswith("a prompt")
    assert [p.name for p in target.parent.iterdir()] == ["a.png"]  # no temp file left behind


def test_16bit_color_png_gets_text_and_icc_chunks_that_readers_see(tmp_path):
    import cv2

    pixels = np.random.default_rng(0).integers(0, 65536, (16, 24, 3), dtype=np.uint16)
    icc = b"\x00" * 128
    for text in ("plain prompt\nSeed: 5", "prompt with ünïcode ✓\nSeed: 5"):
        path = tmp_path / "deep.png"
        path.write_bytes(encode_png(pixels, "RGB;16", text, icc))
        assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1], pixels)
        image = Image.open(path)
        assert image.info["parameters"] == text and image.info["icc_profile"] == icc


@pytest.mark.parametrize("mode", ["RGB", "RGB;16"])
def test_extra_text_chunks_ride_beside_the_parameters(tmp_path, mode):
    dtype = np.uint16 if mode.endswith(";16") else np.uint8
    pixels = np.zeros((8, 8, 3), dtype)
    extra = {"shootstudio:fidelity": '{"grade": "pass", "reason": "ΔE 0.0"}'}
    path = tmp_path / "out.png"
    path.write_bytes(encode_png(pixels, mode, "a prompt\nSeed: 5", None, extra))
    info = Image.open(path).info
    assert info["parameters"] == "a prompt\nSeed: 5"
    assert info["shootstudio:fidelity"] == extra["shootstudio:fidelity"]
