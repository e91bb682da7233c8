"""Presets and preflight on synthetic shots with a known product box, margins and backdrop colour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.export.files import ExportError
from engine.export.preflight import check
from engine.export.presets import BUILTIN, ExportPreset, Preflight, load_preset_file, resolve_preset
from engine.export.render import render, srgb_icc, to_srgb
from engine.export.run import run_export
from engine.export.selection import select_entries
from engine.project.store import ProjectStore

PRODUCT = (180, 30, 30)


def shot(background=(255, 255, 255), size=(400, 300), box=(100, 50, 300, 250)):
    """An RGB shot with a red product filling `box` (left, top, right, bottom) and its exact mask."""
    width, height = size
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:] = background
    mask = np.zeros((height, width), np.uint8)
    left, top, right, bottom = box
    rgb[top:bottom, left:right] = PRODUCT
    mask[top:bottom, left:right] = 255
    return rgb, mask


KEEP = ExportPreset(name="keep", background="keep", format="JPEG", masks=False)


def test_the_shot_as_it_is_measures_fill_margins_and_backdrop():
    rgb, mask = shot()
    rendered = render(rgb, mask, KEEP)
    assert rendered.image.size == (400, 300) and rendered.product_long_side == 400
    white = (255, 255, 255)
    passing = Preflight(fill=(0.3, 0.4), min_margin=50, background_delta_e=1.0, min_size=300)
    assert check(rendered, passing, white) == []  # fill 200*200 / 400*300 = 33 %, margins 100/50
    failing = Preflight(fill=(0.5, 0.9), min_margin=51, background_delta_e=1.0, min_size=500)
    assert check(rendered, failing, white) == [
        "product fills 33% of the frame (wanted 50%–90%)",
        "margin 50 px (wanted at least 51 px)",
        "image 400 px on its long side (wanted at least 500 px)",
    ]
    grey = render(*shot(background=(200, 200, 200)), KEEP)
    [problem] = check(grey, Preflight(background_delta_e=3.0), white)
    assert problem.startswith("background ΔE ") and float(problem.split()[2]) > 10
    near_white = render(*shot(background=(252, 252, 252)), KEEP)
    assert check(near_white, Preflight(background_delta_e=3.0), white) == []


def test_marketplace_preset_trims_pads_squares_and_composites_on_white():
    preset = BUILTIN["marketplace white 2000px JPEG"]
    rgb, mask = shot(background=(90, 90, 90), size=(1600, 1200), box=(300, 200, 1300, 1000))
    rendered = render(rgb, mask, preset)
    assert rendered.image.size == (2000, 2000) and rendered.image.mode == "RGB"
    pixels = np.asarray(rendered.image)
    assert (pixels[:100] == 255).all() and (pixels[:, :100] == 255).all()  # the padding: pure white
    assert np.abs(pixels[1000, 1000].astype(int) - PRODUCT).max() <= 2
    # The 1000x800 product scaled to 1800 px wide, centred: 1800x1440 in a 2000 px square.
    assert check(rendered, preset.preflight, (255, 255, 255)) == []
    ys, xs = np.nonzero(rendered.alpha >= 128)
    assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (100, 1900, 280, 1720)
    small = render(*shot(size=(400, 300)), preset)
    assert check(small, preset.preflight, (255, 255, 255)) == [
        "product 200 px on its long side (wanted at least 1000 px)"
    ]


def test_transparent_cutout_keeps_alpha_and_pixels():
    rgb, mask = shot(background=(90, 90, 90))
    mask[50:250, 100:104] = 128  # a soft edge
    rendered = render(rgb, mask, BUILTIN["transparent PNG cut-out"])
    image = np.asarray(rendered.image)
    assert rendered.image.mode == "RGBA" and rendered.image.size == (200 + 40, 200 + 40)
    assert image[20, 20, 3] == 128 and image[20 + 10, 20 + 10, 3] == 255
    assert tuple(image[30, 30, :3]) == PRODUCT and (image[:20, :, 3] == 0).all()


def test_conversion_from_the_originals_profile_to_srgb():
    a98 = Path("/usr/share/color/icc/ghostscript/a98.icc")  # Adobe RGB (1998), from ghostscript
    if not a98.exists():
        pytest.skip("no Adobe RGB profile on this machine")
    green = np.zeros((4, 4, 3), np.uint8)
    green[:] = (0, 255, 0)
    converted = to_srgb(green, a98.read_bytes())
    # Adobe RGB's green lies outside sRGB: it clips to full green with red pushed to 0, and a mid grey
    # stays neutral; an sRGB-tagged image is left as it is.
    assert converted[0, 0, 1] == 255 and converted[0, 0, 2] <= 60
    grey = np.full((2, 2, 3), 128, np.uint8)
    assert np.abs(to_srgb(grey, a98.read_bytes()).astype(int) - 128).max() <= 3
    assert np.abs(to_srgb(grey, srgb_icc()).astype(int) - 128).max() <= 1
    muted = np.full((2, 2, 3), (100, 150, 80), np.uint8)
    assert not np.array_equal(to_srgb(muted, a98.read_bytes()), muted)  # a real conversion happened


def test_presets_from_a_toml_file(tmp_path):
    path = tmp_path / "presets.toml"
    path.write_text(
        """
[preset."shop square"]
format = "jpg"
quality = 90
long_edge = 1000
background = "#FFFFFF"
trim = true
padding = 50
square = true
naming = "{stem}_shop"
[preset."shop square".preflight]
fill = [0.5, 0.9]
min_margin = 40

[preset.webp]
format = "WEBP"
""",
        encoding="utf-8",
    )
    presets = load_preset_file(path)
    shop = presets["shop square"]
    assert shop.format == "JPEG" and shop.long_edge == 1000 and shop.background_rgb() == (255, 255, 255)
    assert shop.preflight == Preflight(fill=(0.5, 0.9), min_margin=40)
    assert resolve_preset(f"{path}:webp").suffix == ".webp"
    with pytest.raises(ExportError, match="several presets"):
        resolve_preset(str(path))
    path.write_text('[preset.bad]\nformat = "JPEG"\nbackground = "transparent"\nsize = 3\n', encoding="utf-8")
    with pytest.raises(ExportError, match="unknown setting"):
        load_preset_file(path)
    with pytest.raises(ExportError, match="cannot be transparent"):
        ExportPreset(format="JPEG").validate()
    for preset in BUILTIN.values():
        assert preset.validate() is preset


def test_preflight_failures_are_listed_and_not_written(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    with ProjectStore.open(folder) as store:
        for name, background in (("good.png", (255, 255, 255)), ("grey.png", (170, 170, 170))):
            rgb, mask = shot(background=background)
            Image.fromarray(rgb).save(folder / name)
            store.save_edited_mask(store.register(folder / name), mask)
        preset = ExportPreset(
            name="white",
            background="keep",
            format="JPEG",
            masks=True,
            preflight=Preflight(background_delta_e=2),
        )
        checked = run_export(
            store, select_entries(store, "all"), tmp_path / "out", preset, preflight_only=True
        )
        assert [(r.file, r.status) for r in checked.rows] == [
            ("good.png", "exported"),
            ("grey.png", "preflight failed"),
        ]
        assert not (tmp_path / "out").exists()  # a preflight run writes nothing
        report = run_export(store, select_entries(store, "all"), tmp_path / "out", preset)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["good_cutout.jpg", "good_mask.png", "manifest.csv", "manifest.json"]
    rows = json.loads(report.manifest_json.read_text())
    assert rows[1]["status"] == "preflight failed" and "background ΔE" in rows[1]["problems"][0]
    with Image.open(tmp_path / "out" / "good_cutout.jpg") as image:
        assert image.info["icc_profile"] == srgb_icc()  # tagged sRGB
