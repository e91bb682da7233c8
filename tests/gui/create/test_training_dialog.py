"""The Generate panel and the LoRA training dialog, driven offscreen through the real engine bridge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from gui.create.generate_panel import GeneratePanel
from gui.create.training_dialog import LossPlot, TrainingDialog
from tests.fixtures.lora import one_torch_thread, product_photos  # noqa: F401 (an autouse fixture)


def test_generate_panel_fills_the_grid_and_opens_results_in_review(qtbot, bridge, tiny_registry, tmp_path):
    panel = GeneratePanel(bridge, output_dir=tmp_path / "out")
    qtbot.addWidget(panel)
    panel.template.setPlainText("ppzocketv2, {class}, studio")
    panel.classes.setText("hand bag, shoe")
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(2)
    panel.seed.setValue(11)
    panel.count.setValue(1)
    with qtbot.waitSignal(panel.images_generated, timeout=120_000) as finished:
        assert panel.start() is not None
        assert not panel.generate_button.isEnabled()
    paths = finished.args[0]
    assert [p.name for p in paths] == ["hand-bag-11.png", "shoe-12.png"]
    assert panel.results.count() == 2 and panel.generate_button.isEnabled()
    assert "2 image(s)" in panel.status.text()
    with qtbot.waitSignal(panel.open_in_review) as review:
        item = panel.results.item(0)
        panel.results.itemDoubleClicked.emit(item)
    assert review.args[0] == [Path(item.data(Qt.ItemDataRole.UserRole))]
    with qtbot.waitSignal(panel.open_in_review) as review:
        panel._review_selected()  # nothing selected: all results
    assert sorted(review.args[0]) == sorted(paths)


def test_generate_panel_refuses_bad_settings_without_a_job(
    qtbot, bridge, tiny_registry, tmp_path, monkeypatch
):
    panel = GeneratePanel(bridge, output_dir=tmp_path)
    qtbot.addWidget(panel)
    warnings = []
    monkeypatch.setattr(
        "gui.create.generate_panel.QMessageBox.warning", lambda *args: warnings.append(args[2])
    )
    panel.template.setPlainText("{class} on a table")
    panel.classes.setText("")
    assert panel.start() is None and panel.job is None
    panel.classes.setText("bag")
    panel.loras.add_lora(tmp_path / "missing.safetensors")
    assert panel.start() is None
    assert "product class" in warnings[0] and "not found" in warnings[1]


def test_training_dialog_trains_with_a_live_loss_plot_and_samples(qtbot, bridge, tiny_registry, tmp_path):
    folder = tmp_path / "shoot"
    product_photos(folder, [(64, 64), (64, 64), (128, 64)])
    dialog = TrainingDialog(bridge, folder=folder)
    qtbot.addWidget(dialog)
    assert "too small to train at 512 px" in dialog.folder_status.text()  # the default resolution
    for box, value in ((dialog.rank, 4), (dialog.repeats, 2), (dialog.epochs, 2), (dialog.resolution, 128),
                       (dialog.sample_steps, 2)):  # fmt: skip
        box.setValue(value)
    dialog.alpha.setValue(4)
    dialog.lr.setValue(1e-2)
    assert "3 image(s), 0 with a caption, in 2 bucket(s)" in dialog.folder_status.text()
    with qtbot.waitSignal(dialog.training_finished, timeout=180_000) as finished:
        assert dialog.start() is not None
        assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    result = finished.args[0]
    assert result.lora.exists() and result.lora == tmp_path / "shoot-lora.safetensors"
    assert len(dialog.plot.losses) == result.steps == 6
    assert dialog.samples.count() == 2  # one sample per epoch
    assert "Saved" in dialog.status.text() and dialog.start_button.isEnabled()
    picture = dialog.plot.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(picture.constBits(), np.uint8)
    assert len(np.unique(pixels)) > 3  # axes, text and two curves were drawn


def test_training_dialog_says_why_a_folder_cannot_be_used(qtbot, bridge, tiny_registry, tmp_path):
    (tmp_path / "only-captions").mkdir()
    (tmp_path / "only-captions" / "a.txt").write_text("ppzocketv2")
    dialog = TrainingDialog(bridge, folder=tmp_path / "only-captions")
    qtbot.addWidget(dialog)
    assert "caption file(s) without images" in dialog.folder_status.text()
    assert not dialog.start_button.isEnabled() and dialog.start() is None


def test_loss_plot_smooths_and_draws(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    for i in range(30):
        plot.add(1.0 if i % 2 else 0.0, 40)
    assert plot.smoothed()[-1] == pytest.approx(0.5)
    plot.resize(400, 200)
    assert not plot.grab().isNull()


def test_the_dialog_counts_a_truncated_photo_as_skipped_and_a_failure_is_not_100_percent(
    qtbot, bridge, tmp_path
):
    """Defect 4: the summary counted a truncated JPEG as usable, and a failed run showed a full bar."""
    from engine.api import Failed
    from tests.engine.training.test_data import _truncated_jpeg

    folder = tmp_path / "shoot"
    product_photos(folder, [(128, 128), (128, 96)])
    _truncated_jpeg(folder / "cut-short.jpg")
    dialog = TrainingDialog(bridge, folder=folder)
    qtbot.addWidget(dialog)
    dialog.resolution.setValue(128)
    assert "2 image(s)" in dialog.folder_status.text()
    assert "cut-short.jpg" in dialog.folder_status.text() and "skipped" in dialog.folder_status.text()
    dialog._finished(Failed("out of memory", "error"))
    assert dialog.progress.value() < dialog.progress.maximum()
    assert "Failed: out of memory" in dialog.status.text()
