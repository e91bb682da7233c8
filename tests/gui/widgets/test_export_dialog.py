"""File → Export…: the dialog runs the export as an engine job, shows preflight failures, and writes what
the preset and the ticked boxes say."""

from __future__ import annotations

from engine.api import ExportPreset
from engine.export.presets import Preflight
from gui.widgets.export_dialog import ExportDialog
from tests.fixtures.export import make_shoot


def test_export_from_the_dialog_writes_masks_and_lists_the_skipped_image(qtbot, bridge, tmp_path):
    shots = make_shoot(tmp_path / "shoot")
    dialog = ExportDialog(
        bridge, tmp_path / "shoot", selected=[shots["wide"].path], classes=["hand bag", "shoe"]
    )
    qtbot.addWidget(dialog)
    dialog.preset_box.setCurrentText("masks for labelling")
    assert [box.isChecked() for box in dialog.contents.values()] == [True, False, True, True]
    dialog.contents["labelme"].setChecked(False)
    dialog.destination.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.finished_export, timeout=30000) as blocker:
        qtbot.mouseClick(dialog.export_button, qtbot_left())
    report = blocker.args[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "IMG_0042_mask.png", "IMG_0043_mask.png", "annotations_coco.json", "manifest.csv", "manifest.json",
    ]  # fmt: skip
    assert dialog.summary.text() == report.summary() and dialog.summary.text().startswith("2 exported")
    assert dialog.results.count() == 1 and dialog.results.item(0).text().startswith("IMG_0044.png — no mask")
    assert dialog.export_button.isEnabled() and dialog.job is None


def test_check_runs_the_preflight_only_and_lists_failures(qtbot, bridge, tmp_path):
    shots = make_shoot(tmp_path / "shoot")
    dialog = ExportDialog(bridge, tmp_path / "shoot", selected=[shots["rotated"].path, shots["wide"].path])
    qtbot.addWidget(dialog)
    # A preset loaded from a file reaches the engine as it is; ask for more than the shots have.
    dialog.add_presets(
        {"strict": ExportPreset(name="strict", format="PNG", preflight=Preflight(min_size=500))}
    )
    dialog.which.setCurrentIndex(1)  # the selected images
    dialog.destination.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.finished_export, timeout=30000):
        dialog.check_button.click()
    texts = [dialog.results.item(i).text() for i in range(dialog.results.count())]
    assert texts == [
        "IMG_0042.jpg — preflight failed: image 160 px on its long side (wanted at least 500 px)",
        "IMG_0043.png — preflight failed: image 120 px on its long side (wanted at least 500 px)",
    ]
    assert not (tmp_path / "out").exists()


def test_a_bad_destination_is_reported_in_the_dialog(qtbot, bridge, tmp_path):
    make_shoot(tmp_path / "shoot")
    dialog = ExportDialog(bridge, tmp_path / "shoot")
    qtbot.addWidget(dialog)
    dialog.destination.setText(str(tmp_path / "shoot" / "exports"))
    with qtbot.waitSignal(bridge.busy_changed, timeout=30000, check_params_cb=lambda b: not b):
        dialog.export_button.click()
    assert (
        dialog.summary.text().startswith("Export failed: Export folder")
        and "inside the shoot" in dialog.summary.text()
    )


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_file_export_opens_the_dialog_for_the_open_shoot(window, tmp_path):
    assert window.show_export_dialog() is None  # no folder yet: a message instead
    make_shoot(tmp_path / "shoot")
    window.open_folder(tmp_path / "shoot")
    [action] = [a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Export…"]
    action.trigger()
    dialog = window.findChild(ExportDialog)
    assert dialog is not None and dialog.isVisible() and dialog.folder == tmp_path / "shoot"
    dialog.close()
