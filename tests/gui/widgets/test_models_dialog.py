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
