"""Settings → Models: each role's status, pointing a role at a file, saved where the CLI reads it."""

from __future__ import annotations

import shutil

from engine.models.config import ModelsConfig, default_config_path
from gui.main_window import MainWindow


def test_the_dialog_shows_status_and_saves_a_role_to_the_user_models_file(qtbot, tiny_models, tmp_path):
    window = MainWindow(models=ModelsConfig.defaults(), thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(window)
    try:
        assert not window.mask_panel.tool_buttons["sam"].isEnabled()
        dialog = window.show_models_dialog()
        assert dialog.save_path == default_config_path()
        statuses = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(7)}
        assert statuses["sam"] == "missing" and "models download sam" in dialog.table.item(0, 1).toolTip()
        # Point SAM at the tiny checkpoint (a copy elsewhere), keeping the role's options.
        own = tmp_path / "weights" / "my_sam.pth"
        own.parent.mkdir()
        shutil.copy(tiny_models.parent / "sam_tiny.pth", own)
        tiny_options = ModelsConfig.load(tiny_models).spec("sam").options
        dialog.config = dialog.config.with_role("sam", str(own), **tiny_options)
        dialog.set_role_path("sam", own)
        assert dialog.table.item(0, 1).text() == "found"
        with qtbot.waitSignal(dialog.config_saved):
            dialog.save()
        saved = ModelsConfig.load(default_config_path())  # what the CLI reads by default
        assert saved.spec("sam").local_path() == own and saved.spec("sam").option("variant") == "custom"
        assert window.mask_panel.tool_buttons["sam"].isEnabled()
        assert window.sam.problem is None
    finally:
        window.shutdown_engine()


def test_a_vit_h_checkpoint_gets_its_variant_and_nothing_says_saved_before_save(qtbot, tmp_path):
    """Defect 5: the dialog had no SAM variant (a vit_h checkpoint loaded as vit_b) and said "Saved"
    before anything was saved."""
    from gui.widgets.models_dialog import ModelsDialog

    target = tmp_path / "models.toml"
    dialog = ModelsDialog(ModelsConfig.defaults(), save_path=target)
    qtbot.addWidget(dialog)
    assert not any(label.text().startswith("Saved") for label in dialog.findChildren(type(dialog.note)))
    checkpoint = tmp_path / "downloads" / "sam_vit_h_4b8939.pth"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"\0" * 16)
    dialog.set_role_path("sam", checkpoint)
    assert dialog.sam_variant.currentText() == "vit_h"
    assert not target.exists()
    dialog.save()
    saved = ModelsConfig.load(target)
    assert saved.spec("sam").option("variant") == "vit_h" and saved.spec("sam").local_path() == checkpoint
    assert saved.spec("clip").local_path() == ModelsConfig.defaults().spec("clip").local_path()


def test_download_runs_as_a_job_and_says_why_it_failed(qtbot, bridge, tmp_path, monkeypatch):
    """Defect 5: the dialog had no Download button. Offline here: the job fails with the CLI's reason."""
    from PySide6.QtWidgets import QPushButton

    from gui.widgets.models_dialog import ModelsDialog

    monkeypatch.setattr("engine.models.download._online", lambda *args, **kwargs: False)  # never the network
    dialog = ModelsDialog(ModelsConfig.defaults(), save_path=tmp_path / "models.toml", bridge=bridge)
    qtbot.addWidget(dialog)
    dialog.show()
    buttons = [b for b in dialog.table.cellWidget(0, 3).findChildren(QPushButton) if b.text() == "Download"]
    assert buttons, "a missing role offers Download"
    buttons[0].click()
    assert dialog.download_job is not None and dialog.progress.isVisible()
    qtbot.waitUntil(lambda: dialog.download_job is None, timeout=20000)
    assert "cannot reach huggingface.co" in dialog.note.text() and dialog.note.text().startswith(
        "Not downloaded"
    )
    assert not dialog.progress.isVisible()
