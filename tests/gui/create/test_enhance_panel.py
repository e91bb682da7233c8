"""The Enhance panel with qtbot: Run through the engine bridge, variants strip, before/after compare,
Accept writes the chosen variant, Cancel writes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from engine.api import Progress
from gui.create.enhance_panel import EnhancePanel
from tests.fixtures.enhance import box_mask, textured_rgb


@pytest.fixture
def panel(qtbot, bridge, tmp_path):
    panel = EnhancePanel(bridge, output_dir=tmp_path / "enhanced")
    qtbot.addWidget(panel)
    panel.settings.steps.setValue(2)
    panel.settings.work_size.setValue(64)
    panel.settings.padding.setValue(8)
    panel.settings.seed_spin.setValue(7)
    panel.settings.variants.setValue(2)
    path = tmp_path / "IMG_7.png"
    Image.fromarray(textured_rgb(96, 120)).save(path)
    panel.set_image(path, box_mask(96, 120, (50, 30, 80, 60)), "hand bag")
    return panel


def test_run_fills_the_strip_and_the_compare_view_splits_before_and_after(panel, qtbot):
    assert panel.settings.class_edit.text() == "hand bag"
    with qtbot.waitSignal(panel.run_finished, timeout=120_000) as finished:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert finished.args == ["done"]
    assert panel.strip.count() == 2 and panel.strip.item(1).text() == "seed 8"
    result = panel.result
    before, after = result.before, result.variants[0].preview
    assert not np.array_equal(before, after)

    panel.split_slider.setValue(500)
    width = before.shape[1]
    panel.compare.setMinimumSize(1, 1)
    panel.compare.resize(width, before.shape[0])
    panel.compare.actual_size()  # 100%: one pixel per pixel, the image filling the view
    shown = panel.compare.grab().toImage()
    assert (shown.width(), shown.height()) == (width, before.shape[0])
    split = round(0.5 * width)
    for x in (2, split - 3, split + 3, width - 3):
        for y in range(32, before.shape[0], 7):  # below the Before / After labels
            color = shown.pixelColor(x, y)
            expected = before[y, x] if x < split else after[y, x]
            assert (color.red(), color.green(), color.blue()) == tuple(int(v) for v in expected)
    panel.before_toggle.setChecked(True)
    shown = panel.compare.grab().toImage()
    low = before.shape[0] - 4  # below the label
    color = shown.pixelColor(width - 3, low)
    assert (color.red(), color.green(), color.blue()) == tuple(int(v) for v in before[low, width - 3])


def test_accept_writes_the_chosen_variant(panel, qtbot, tmp_path):
    with qtbot.waitSignal(panel.run_finished, timeout=120_000):
        panel.run()
    panel.strip.setCurrentRow(1)
    with qtbot.waitSignal(panel.variant_accepted, timeout=30_000) as accepted:
        qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    written = accepted.args[0]
    assert written == tmp_path / "enhanced" / "IMG_7_enh_8.png" and written.exists()
    out = np.asarray(Image.open(written))
    assert np.array_equal(out, panel.result.full_pixels(panel.result.variants[1]))


def test_cancel_writes_nothing_and_says_so(panel, qtbot, tmp_path):
    panel.settings.steps.setValue(40)
    panel.settings.strength.setValue(1.0)
    panel.settings.variants.setValue(4)
    cancelled = []
    panel.bridge.job_progress.connect(
        lambda job, p: cancelled or (p.total and (panel.cancel(), cancelled.append(1)))
    )
    with qtbot.waitSignal(panel.run_finished, timeout=120_000) as finished:
        panel.run()
    assert finished.args == ["cancelled"]
    assert "nothing was written" in panel.status.text()
    assert panel.strip.count() == 0 and not panel.accept_button.isEnabled()
    assert not (tmp_path / "enhanced").exists()


def test_bad_settings_are_reported_without_starting_a_job(panel, tmp_path):
    panel.settings.loras.add_lora(tmp_path / "missing.safetensors")
    assert panel.run() is None
    assert "not found" in panel.status.text() and panel.run_button.isEnabled()


def test_batch_enhances_every_product_of_the_class_and_reports(panel, qtbot, tmp_path):
    from engine.diffusion.batch import BatchItem

    items = []
    for index, verdict in enumerate(("product", "skipped", "product")):
        path = tmp_path / f"B_{index}.png"
        Image.fromarray(textured_rgb(64, 64, seed=index)).save(path)
        items.append(BatchItem(path, box_mask(64, 64, (20, 20, 40, 40)), "hand bag", verdict))
    panel.settings.variants.setValue(1)
    with qtbot.waitSignal(panel.batch_finished, timeout=120_000) as finished:
        assert panel.run_batch(items) is not None
        assert not panel.run_button.isEnabled()
    report = finished.args[0]
    assert sorted(p.name for p in report.written) == ["B_0_enh_7.png", "B_2_enh_7.png"]
    assert "2 written" in panel.status.text() and "1 skipped" in panel.status.text()
    assert panel.run_button.isEnabled()


def test_a_cancel_notice_is_not_overwritten_by_progress(panel, qtbot):
    """Defect 8: progress messages replaced "Cancelling…" while the job finished its step."""
    job = panel.run()
    assert job is not None and panel.progress.maximum() == 0  # moving at once, before the first step
    assert panel._ticker.isActive()  # the status clock ticks during a long step
    panel._on_progress(Progress(0, 2, "step 0/2"))
    panel._tick()
    assert panel.status.text().startswith("Enhancing: step 0/2 · ") and panel.status.text().endswith(" s")
    panel.cancel()
    panel._tick()
    panel._on_progress(Progress(1, 2, "step 1/2"))
    assert panel.status.text().startswith("Cancelling")
    assert panel.progress.value() == 500
    with qtbot.waitSignal(panel.run_finished, timeout=120_000):
        pass
    assert not panel._ticker.isActive()


def test_missing_models_and_an_empty_mask_are_said_before_run(qtbot, tmp_path):
    """Defect 11: "ready" with missing models or an empty mask; the failure came only after Run."""
    from engine.api import Engine, ModelsConfig
    from gui.bridge import EngineBridge

    bridge = EngineBridge(Engine(ModelsConfig.defaults()))  # no weights in the test's user folders
    try:
        panel = EnhancePanel(bridge, output_dir=tmp_path / "out")
        qtbot.addWidget(panel)
        path = tmp_path / "IMG_1.png"
        Image.fromarray(textured_rgb(96, 120)).save(path)
        panel.set_image(path, box_mask(96, 120, (50, 30, 80, 60)), "")
        assert "ready" not in panel.status.text() and "inpaint" in panel.status.text()
        assert panel.run() is None
        from gui.create.generate_panel import GeneratePanel

        generate = GeneratePanel(bridge, output_dir=tmp_path / "gen")
        qtbot.addWidget(generate)
        assert generate.start() is None and "'txt2img'" in generate.status.text()
    finally:
        assert bridge.shutdown(30)


def test_an_empty_mask_is_said_before_run_and_the_class_is_editable(panel):
    path = panel._image[0]
    panel.set_image(path, np.zeros((96, 120), np.uint8), "")
    assert "mask is empty" in panel.status.text()
    assert panel.run() is None and "mask is empty" in panel.status.text()
    panel.set_image(path, box_mask(96, 120, (50, 30, 80, 60)), "")
    assert "“product”" in panel.status.text()  # the fallback is said, not silent
    assert not panel.settings.class_edit.isReadOnly()
    panel.settings.class_edit.setText("hand bag")
