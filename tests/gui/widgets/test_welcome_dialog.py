"""First run: the welcome dialog opens when no weights are found, offers what is on disk, and saves choices
(found weights, a chosen file, a download through the engine) to the models.toml the CLI reads."""

from __future__ import annotations

import shutil
import threading

import pytest

from engine.api import ROLES, discover
from engine.models.config import ModelsConfig, default_config_path, user_models_dir
from gui.main_window import MainWindow
from gui.widgets.welcome_dialog import ROLE_PURPOSES, purpose, show_welcome_if_needed


@pytest.fixture
def bare_window(qtbot, tmp_path):
    """The main window on a machine with no weights (the isolated user folders are empty)."""
    window = MainWindow(models=ModelsConfig.defaults(), thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(window)
    yield window
    window.shutdown_engine()


def _comfyui_with_sam(tmp_path, tiny_models):
    sams = tmp_path / "ComfyUI" / "models" / "sams"
    sams.mkdir(parents=True)
    (tmp_path / "ComfyUI" / "models" / "checkpoints").mkdir()
    return shutil.copy(tiny_models.parent / "sam_tiny.pth", sams / "sam_vit_b_01ec64.pth")


def test_it_opens_with_no_weights_lists_the_roles_and_uses_found_weights_in_place(
    qtbot, bare_window, tmp_path, tiny_models
):
    sam = _comfyui_with_sam(tmp_path, tiny_models)
    dialog = show_welcome_if_needed(
        bare_window, search=lambda: discover([tmp_path / "ComfyUI"], hf_cache=tmp_path / "no-cache")
    )
    assert dialog is not None and dialog.isVisible()
    rows = [[dialog.table.item(r, c).text() for c in range(4)] for r in range(dialog.table.rowCount())]
    assert [row[0] for row in rows] == list(ROLES)
    assert all(row[1] == purpose(row[0]) and row[3] == "missing" for row in rows)
    assert rows[0][1] == ROLE_PURPOSES["sam"] == "Mask review: click the product to select it"
    assert rows[0][2] == "about 375 MB" and rows[ROLES.index("inpaint")][2] == "about 5.5 GB"

    qtbot.waitUntil(lambda: dialog.combos["sam"].isEnabled(), timeout=10_000)  # found off the UI thread
    assert "SAM vit_b" in dialog.combos["sam"].currentText()
    assert "ComfyUI at" in dialog.combos["sam"].currentText()
    assert not dialog.combos["clip"].isEnabled() and dialog.combos["clip"].currentText() == "none found"
    assert "Found weights for sam" in dialog.message.text()

    with qtbot.waitSignal(dialog.config_saved):
        dialog.use_found_button.click()
    saved = ModelsConfig.load(default_config_path())  # what the CLI reads by default
    assert saved.spec("sam").local_path() == sam and saved.spec("sam").options == {"variant": "vit_b"}
    assert dialog.table.item(0, 3).text() == "found"
    assert bare_window.engine.models.spec("sam").local_path() == sam  # the window took the new config
    assert sam.exists() and sam.parent == tmp_path / "ComfyUI" / "models" / "sams"  # used in place


def test_choose_a_file_updates_the_config_and_keeps_the_role_options(
    qtbot, bare_window, tmp_path, tiny_models
):
    dialog = show_welcome_if_needed(bare_window, search=lambda: discover([], hf_cache=tmp_path / "none"))
    qtbot.waitUntil(lambda: "No weights found" in dialog.message.text(), timeout=10_000)
    own = shutil.copy(
        tiny_models.parent / "clip" / "open_clip_model.safetensors", tmp_path / "my-clip.safetensors"
    )
    with qtbot.waitSignal(dialog.config_saved):
        dialog.choose_path("clip", own)
    saved = ModelsConfig.load(default_config_path())
    assert saved.spec("clip").local_path() == own and saved.spec("clip").option("arch") == "ViT-B-32"
    assert dialog.table.item(ROLES.index("clip"), 3).text() == "found"
    assert dialog.table.item(ROLES.index("sam"), 3).text() == "missing"


def test_download_runs_as_an_engine_job_with_progress_and_points_the_role_at_it(
    qtbot, bare_window, tmp_path, tiny_models, monkeypatch
):
    """The network is replaced by a copy; the engine job, its progress and the saving are real."""
    seen = threading.Event()  # the download holds at 40 % until the dialog has shown it

    def fake_download(role, dest=None, progress=None):
        target = user_models_dir() / "sam_vit_b_01ec64.pth"
        target.parent.mkdir(parents=True, exist_ok=True)
        progress(40, 100)
        assert seen.wait(20)
        shutil.copy(tiny_models.parent / "sam_tiny.pth", target)
        progress(100, 100)
        return target

    monkeypatch.setattr("engine.models.download.download_role", fake_download)
    dialog = show_welcome_if_needed(bare_window, search=lambda: discover([], hf_cache=tmp_path / "none"))
    with qtbot.waitSignal(dialog.config_saved, timeout=20_000):
        dialog.download(["sam"])
        qtbot.waitUntil(lambda: dialog.progress.value() == 400, timeout=10_000)
        assert dialog.progress.isVisible() and dialog.message.text() == "downloading sam (1 of 1)"
        assert dialog.cancel_button.isVisible() and not dialog.download_button.isEnabled()
        seen.set()
    assert not dialog.progress.isVisible() and dialog.download_button.isEnabled()
    saved = ModelsConfig.load(default_config_path())
    assert saved.spec("sam").local_path() == user_models_dir() / "sam_vit_b_01ec64.pth"
    assert saved.spec("sam").options == {"variant": "vit_b"}
    assert dialog.table.item(0, 3).text() == "found" and "sam" not in dialog.missing_roles()


def test_it_stays_closed_when_weights_are_found(qtbot, tiny_models, tmp_path):
    window = MainWindow(models=ModelsConfig.load(tiny_models), thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(window)
    try:
        assert show_welcome_if_needed(window) is None
    finally:
        window.shutdown_engine()


def test_help_find_models_opens_it_on_demand_even_with_weights_found(qtbot, tiny_models, tmp_path):
    from PySide6.QtGui import QAction

    from gui.widgets.welcome_dialog import WelcomeDialog

    window = MainWindow(models=ModelsConfig.load(tiny_models), thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(window)
    try:
        action = next(a for a in window.findChildren(QAction) if a.text() == "&Find Models…")
        action.trigger()
        opened = [d for d in window.findChildren(WelcomeDialog) if d.isVisible()]
        assert len(opened) == 1
        opened[0].close()
    finally:
        window.shutdown_engine()
