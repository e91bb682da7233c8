"""The fidelity badge on the Enhance panel's variants: grade colour and figures on each, sort by fidelity,
and Accept still writes the variant the user picked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from engine.api import FidelityReport
from gui.create.enhance_panel import EnhancePanel
from gui.create.fidelity_badge import GRADE_COLOURS, badge_icon, fill_strip, variant_index
from tests.fixtures.enhance import box_mask, textured_rgb


@dataclass
class FakeVariant:
    seed: int
    preview: np.ndarray
    fidelity: FidelityReport | None


def report(grade: str, delta_e: float) -> FidelityReport:
    return FidelityReport(grade, delta_e, delta_e * 2, 0.9, 0.8)


def test_each_variant_gets_a_badge_in_its_grade_colour_and_its_figures(qtbot):
    from PySide6.QtWidgets import QListWidget

    strip = QListWidget()
    qtbot.addWidget(strip)
    preview = np.full((64, 64, 3), 128, np.uint8)
    variants = [
        FakeVariant(1, preview, report("fail", 6.0)),
        FakeVariant(2, preview, report("pass", 0.7)),
        FakeVariant(3, preview, report("warn", 3.0)),
    ]
    fill_strip(strip, variants, by_fidelity=False, thumb=96)
    assert [strip.item(r).text() for r in range(3)] == ["seed 1", "seed 2", "seed 3"]
    assert "ΔE00: mean 6.0" in strip.item(0).toolTip() and "FAIL" in strip.item(0).toolTip()
    for row, grade in enumerate(("fail", "pass", "warn")):
        icon = strip.item(row).icon().pixmap(96, 96).toImage()
        badge = icon.pixelColor(8, 96 - 10)  # inside the badge's rounded box, left of its text
        assert badge.rgb() == GRADE_COLOURS[grade].rgb()
    # Sorted: truest product first; each item still knows its variant.
    fill_strip(strip, variants, by_fidelity=True, thumb=96)
    assert [variant_index(strip, r) for r in range(3)] == [1, 2, 0]
    assert [strip.item(r).text() for r in range(3)] == ["seed 2", "seed 3", "seed 1"]


def test_a_variant_without_figures_has_a_plain_thumbnail(qtbot):
    preview = np.full((64, 64, 3), 128, np.uint8)
    image = badge_icon(preview, None, 96).pixmap(96, 96).toImage()
    assert image.pixelColor(4, 86).rgb() == image.pixelColor(48, 48).rgb()


@pytest.fixture
def panel(qtbot, bridge, tmp_path):
    panel = EnhancePanel(bridge, output_dir=tmp_path / "enhanced")
    qtbot.addWidget(panel)
    for spin, value in ((panel.settings.steps, 2), (panel.settings.work_size, 64)):
        spin.setValue(value)
    panel.settings.padding.setValue(8)
    panel.settings.seed_spin.setValue(7)
    panel.settings.variants.setValue(3)
    path = tmp_path / "IMG_7.png"
    Image.fromarray(textured_rgb(96, 120)).save(path)
    panel.set_image(path, box_mask(96, 120, (50, 30, 80, 60)), "hand bag")
    return panel


def test_the_panel_shows_figures_sorts_by_fidelity_and_accepts_the_picked_variant(panel, qtbot, tmp_path):
    with qtbot.waitSignal(panel.run_finished, timeout=120_000):
        panel.run()
    variants = panel.result.variants
    assert all(v.fidelity is not None for v in variants)
    assert panel.figures.report is variants[0].fidelity and "Colour shift" in panel.figures.text()
    panel.sort_by_fidelity.setChecked(True)
    order = [variant_index(panel.strip, r) for r in range(panel.strip.count())]
    assert sorted(order) == [0, 1, 2]
    scores = [variants[i].fidelity.score for i in order]
    assert scores == sorted(scores)
    # Pick the last row (the least true product) and Accept: that very variant is written.
    panel.strip.setCurrentRow(2)
    chosen = variants[order[2]]
    assert panel.figures.report is chosen.fidelity
    with qtbot.waitSignal(panel.variant_accepted, timeout=30_000) as accepted:
        qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    assert accepted.args[0].name == f"IMG_7_enh_{chosen.seed}.png"
    assert np.array_equal(np.asarray(Image.open(accepted.args[0])), panel.result.full_pixels(chosen))


def test_the_settings_carry_soft_edges_keep_product_and_the_silhouette_check(qtbot):
    from gui.create.enhance_settings import EnhanceSettings

    settings = EnhanceSettings()
    qtbot.addWidget(settings)
    recipe = settings.recipe()
    assert not (recipe.soft_edges or recipe.keep_product or recipe.fidelity_shape)
    for box in (settings.soft_edges, settings.keep_product, settings.check_shape):
        box.setChecked(True)
    recipe = settings.recipe()
    assert recipe.soft_edges and recipe.keep_product and recipe.fidelity_shape


def test_batch_keep_best_writes_one_variant_per_image_and_counts_the_grades(panel, qtbot, tmp_path):
    from engine.api import BatchItem

    items = []
    for index in range(2):
        path = tmp_path / f"B_{index}.png"
        Image.fromarray(textured_rgb(64, 64, seed=index)).save(path)
        items.append(BatchItem(path, box_mask(64, 64, (20, 20, 40, 40)), "hand bag"))
    panel.settings.variants.setValue(2)
    panel.keep_best.setChecked(True)
    with qtbot.waitSignal(panel.batch_finished, timeout=120_000) as finished:
        panel.run_batch(items)
    report = finished.args[0]
    assert len(report.written) == 2 and {p.name.split("_enh_")[0] for p in report.written} == {"B_0", "B_1"}
    grades = [r.grade for r in report.fidelity.values()]
    assert "Fidelity: " in panel.status.text()
    assert sum(int(part.split()[0]) for part in panel.status.text().split("Fidelity: ")[1].split(", ")) == 2
    assert len(grades) == 2
