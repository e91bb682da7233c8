"""The enhancement and generation panels and the LoRA training dialog, wired into the review desk."""

from __future__ import annotations

import numpy as np

from gui.create.creative_panels import OUTPUT_FOLDER
from gui.create.image_preview import ImagePreview
from tests.fixtures.gui import drag, drop, make_shoot


def test_the_enhance_panel_follows_the_image_and_mask_under_review(qtbot, window, tmp_path, monkeypatch):
    folder = make_shoot(tmp_path / "shoot", count=2)
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    docks = [a.text() for a in window.tools_menu.actions()]
    assert "Enhance" in docks and "Generate" in docks
    review = window.document.review
    path, mask, _ = window.creative.enhance._image
    assert path == review.path and np.array_equal(mask, review.mask)
    assert window.creative.enhance.output_dir == folder / OUTPUT_FOLDER / "enhanced"

    # A brush stroke on the canvas reaches the panel's mask; a run enhances a snapshot of it, so
    # painting on while the job runs cannot change the job's input.
    before = mask.copy()
    canvas = window.canvas
    window.editor.set_tool("brush")
    a, b = canvas.to_screen(100, 100), canvas.to_screen(300, 200)
    drag(canvas, [(a.x() + (b.x() - a.x()) * t / 5, a.y() + (b.y() - a.y()) * t / 5) for t in range(6)])
    _, painted, _ = window.creative.enhance._image
    assert painted.sum() > before.sum()
    received = []

    def fake_enhance(path, job_mask, *args, **kwargs):
        received.append(job_mask)
        raise RuntimeError("stop here")

    monkeypatch.setattr("engine.diffusion.enhance.enhance", fake_enhance)  # what the job calls
    job = window.creative.enhance.run()
    job.wait(10)
    [job_mask] = received
    assert job_mask is not window.document.review.mask
    assert np.array_equal(job_mask, window.document.review.mask)


def test_a_generated_image_opens_in_a_preview_and_the_shoot_stays(qtbot, window, tmp_path):
    """Defect 7: double-clicking a Generate result switched the desk to the output folder (and made a
    project store there)."""
    shoot = make_shoot(tmp_path / "shoot", count=2)
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        window.open_folder(shoot)
    generated = make_shoot(shoot / OUTPUT_FOLDER / "generated", count=2)
    target = sorted(generated.iterdir())[1]
    window.creative.generate.open_in_review.emit([target])
    preview = window.findChild(ImagePreview)
    assert preview is not None and preview.isVisible() and preview.path == target
    assert not preview.pixmap.isNull()
    assert window.folder == shoot and len(window.document.images) == 2
    assert not (generated / ".shootstudio").exists()
    preview.close()
    dialog = window.creative.show_training()
    assert dialog.isVisible() and dialog.folder.text() == str(shoot)
    dialog.close()
