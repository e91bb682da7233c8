"""The Filter panel on real stored filter results: counts, badges and verdict filters; threshold sliders
re-decide from stored scores without a model; the filter runs from the panel on the tiny models."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.filter.classes import save_shoot_classes
from engine.filter.run import FilterSettings, ProductFilter
from engine.models.config import ModelsConfig
from engine.project.store import ProjectStore
from engine.project.values import VERDICTS
from engine.runtime.jobs import Succeeded
from engine.segment.session import ProposalSettings
from gui.main_window import MainWindow
from tests.fixtures.filter import forced, one_class, product_mask, shoot_image
from tests.fixtures.gui import drop


@pytest.fixture
def filtered_shoot(tmp_path, tiny_registry):
    """Four images the filter already ran on (forced product mask, threshold 0, margin -1: all 'product',
    whichever prompt the random CLIP ranks first)."""
    folder = tmp_path / "shoot"
    paths = [shoot_image(folder / f"{i}.png", color=(200, 40 * i, 20)) for i in range(4)]
    class_set = one_class("a photo of a red bag.", ["a photo of a wall.", "a photo of a floor."], margin=-1.0)
    with ProjectStore.open(folder) as store:
        save_shoot_classes(store.root, class_set)
        ProductFilter(tiny_registry, store, class_set, propose=forced([product_mask((120, 160))])).run(paths)
    return folder


def counts(panel) -> dict:
    return {v: box.text() for v, box in panel.verdict_boxes.items()}


def test_stored_verdicts_show_and_a_threshold_slider_redecides_without_models(qtbot, window, filtered_shoot):
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [filtered_shoot])
    panel = window.filter_panel
    qtbot.waitUntil(lambda: panel.scores.run_key is not None and panel.table.rowCount() == 1, timeout=10000)
    qtbot.waitUntil(lambda: counts(panel)["product"] == "Product (4)", timeout=10000)
    images = window.document.images
    assert all(img.verdict == "product" and img.classes == {"product": 1} for img in images)

    # The image under review shows the filter's region in its class colour, and its mask.
    review = window.document.review
    assert review.mask_source == "filter" and len(review.regions) == 1
    assert review.regions[0].class_name == "product"
    np.testing.assert_array_equal(review.mask >= 128, product_mask((120, 160)))
    window.mask_panel.subtract_button.click()
    assert not review.mask.any()
    window.document.undo()

    # Raise the threshold past every stored score: everything becomes 'skipped', with no model run.
    jobs = []
    window.bridge.job_started.connect(jobs.append)
    panel.table.selectRow(0)
    panel.threshold_slider.setValue(100)
    qtbot.waitUntil(lambda: counts(panel)["skipped"] == "Skipped (4)", timeout=10000)
    assert counts(panel)["product"] == "Product (0)"
    assert all(img.verdict == "skipped" for img in images)
    assert [job for job in jobs if job.name == "Product filter"] == []
    store = window.document.store
    qtbot.waitUntil(lambda: store.verdict(images[0].image_id)["verdict"] == "skipped", timeout=10000)
    # Back down: products again. The verdict checkboxes filter the browser.
    panel.threshold_slider.setValue(0)
    qtbot.waitUntil(lambda: counts(panel)["product"] == "Product (4)", timeout=10000)
    panel.verdict_boxes["product"].setChecked(False)
    assert window.browser.proxy.rowCount() == 0
    panel.verdict_boxes["product"].setChecked(True)
    assert window.browser.proxy.rowCount() == 4


def test_renaming_a_class_keeps_its_threshold_and_saves_the_shoot_classes(qtbot, window, filtered_shoot):
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [filtered_shoot])
    panel = window.filter_panel
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=10000)
    panel.table.item(0, 0).setText("tote  bag")
    assert panel.class_set.names == ["tote bag"]
    assert panel.class_set.classes[0].prompts == ("a photo of a red bag.",)
    panel._add_class()
    assert panel.class_set.names == ["tote bag", "new class"]
    qtbot.waitUntil(lambda: (window.document.store.root / "classes.toml").is_file(), timeout=5000)
    qtbot.waitUntil(
        lambda: "new class" in (window.document.store.root / "classes.toml").read_text(), timeout=5000
    )
    assert "run the filter again" in panel.counts_label.text()


def test_the_filter_runs_from_the_panel_and_verdicts_fill_in(qtbot, window, tmp_path):
    folder = tmp_path / "fresh"
    for i in range(3):
        shoot_image(folder / f"{i}.png", color=(200, 40 + 50 * i, 20))
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    panel = window.filter_panel
    qtbot.waitUntil(lambda: panel.class_set is not None, timeout=10000)
    assert panel.run_folder.isEnabled()
    assert counts(panel)[None] == "Not filtered (3)"
    # Thresholds at 0 so the tiny random SAM proposes regions for CLIP to score.
    proposals = ProposalSettings(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    panel.filter_settings = FilterSettings(proposals=proposals)
    job = panel.run()
    qtbot.waitUntil(lambda: job.done, timeout=60000)
    assert isinstance(job.outcome, Succeeded)
    assert job.outcome.value.failed == {}
    images = window.document.images
    qtbot.waitUntil(lambda: all(img.verdict in VERDICTS for img in images), timeout=10000)
    qtbot.waitUntil(lambda: counts(panel)[None] == "Not filtered (0)", timeout=10000)
    store = window.document.store
    assert [img.verdict for img in images] == [store.verdict(img.image_id)["verdict"] for img in images]
    tooltip = window.thumbnails.data(window.thumbnails.index(0), Qt.ItemDataRole.ToolTipRole)
    assert f"filter: {images[0].verdict}" in tooltip
    # The run's scores load off the UI thread after the job: wait for them, not for the verdicts.
    qtbot.waitUntil(lambda: panel.scores.run_key == job.outcome.value.run_key, timeout=10000)
    assert len(panel.scores.regions) == 3


def test_the_proposals_mode_chosen_in_the_panel_reaches_the_filter(qtbot, window, tmp_path):
    folder = tmp_path / "modes"
    for i in range(2):
        shoot_image(folder / f"{i}.png", color=(200, 40 + 80 * i, 20))
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    panel = window.filter_panel
    qtbot.waitUntil(lambda: panel.class_set is not None, timeout=10000)
    modes = [panel.mode_combo.itemData(i) for i in range(panel.mode_combo.count())]
    assert modes == ["exact", "coarse", "grounded"]
    proposals = ProposalSettings(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    panel.filter_settings = FilterSettings(proposals=proposals)
    run_keys = {}
    for mode in ("coarse", "exact"):
        panel.mode_combo.setCurrentIndex(modes.index(mode))
        job = panel.run()
        qtbot.waitUntil(lambda job=job: job.done, timeout=60000)
        assert isinstance(job.outcome, Succeeded) and job.outcome.value.failed == {}
        run_keys[mode] = job.outcome.value.run_key
    store = window.document.store
    exact = ProductFilter(window.engine.registry, store, panel.class_set, panel.filter_settings)
    assert run_keys["exact"] == exact.run_key != run_keys["coarse"]


def test_the_proposals_choice_is_remembered(qtbot, window):
    from gui.browse.filter_panel import FilterPanel

    window.filter_panel.mode_combo.setCurrentIndex(window.filter_panel.mode_combo.findData("grounded"))
    again = FilterPanel(window.document, window.browser, window.bridge, window.tasks)
    qtbot.addWidget(again)
    assert again.mode_combo.currentData() == "grounded"


def test_missing_models_disable_the_filter_with_the_role_named(qtbot, tmp_path):
    window = MainWindow(models=ModelsConfig.defaults(), thumbnail_cache=tmp_path / "thumbs")
    qtbot.addWidget(window)
    try:
        panel = window.filter_panel
        assert not panel.run_folder.isEnabled()
        qtbot.waitUntil(
            lambda: "'clip'" in panel.problem_label.text(), timeout=10000
        )  # checked off the UI thread
        assert "'sam'" in panel.problem_label.text() and not panel.run_folder.isEnabled()
    finally:
        window.shutdown_engine()


def test_class_edits_are_saved_in_order_even_when_an_older_save_is_slow(qtbot, window, tmp_path, monkeypatch):
    """Saves run on background threads: a slow older save must not land after (and over) a newer one."""
    import time

    from gui.browse import filter_panel as module

    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    panel = window.filter_panel
    qtbot.waitUntil(lambda: panel.class_set is not None, timeout=10000)
    written, calls = [], []

    def slow_first_save(store_root, class_set):
        calls.append(class_set.names)
        if len(calls) == 1:
            time.sleep(0.4)
        written.append(class_set.names)

    monkeypatch.setattr(module, "save_shoot_classes", slow_first_save)
    window.tasks.flush()  # idle pool threads, so the two saves really could run at the same time
    base = panel.class_set
    panel._set_classes(base.select([*base.names, "older"]))
    time.sleep(0.05)  # the older save is under way
    panel._set_classes(base.select([*base.names, "newer"]))
    qtbot.waitUntil(lambda: bool(written) and written[-1][-1] == "newer", timeout=5000)
    time.sleep(0.6)  # long enough for a stale save to land last, if one could
    assert written[-1][-1] == "newer"


def test_the_margin_is_shown_and_editable_and_decides_at_threshold_zero(qtbot, window, filtered_shoot):
    """Defect 10: with the margin hidden, a threshold at 0.00 changed no verdict and nothing said why."""
    from engine.api import load_shoot_classes

    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [filtered_shoot])
    panel = window.filter_panel
    qtbot.waitUntil(lambda: counts(panel)["product"] == "Product (4)", timeout=10000)
    panel.table.selectRow(0)
    assert panel.table.item(0, 2).text() == "-1.00" and panel.margin_slider.value() == -100
    panel.margin_slider.setValue(100)  # the class must beat 'other' by a full 1.0: nothing does
    qtbot.waitUntil(lambda: counts(panel)["skipped"] == "Skipped (4)", timeout=10000)
    assert panel.table.item(0, 2).text() == "+1.00"
    store = window.document.store
    qtbot.waitUntil(lambda: load_shoot_classes(store.root).classes[0].margin == 1.0, timeout=5000)
    panel.table.item(0, 2).setText("-1")  # typed in the table: decides and saves the same way
    qtbot.waitUntil(lambda: counts(panel)["product"] == "Product (4)", timeout=10000)


def test_a_threshold_change_is_saved_with_no_stored_regions(qtbot, window, tmp_path):
    """Defect 10: with no regions stored (nothing filtered yet), a threshold change was not saved."""
    from engine.api import load_shoot_classes

    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [folder])
    panel = window.filter_panel
    qtbot.waitUntil(lambda: panel.class_set is not None and panel.table.rowCount() > 0, timeout=10000)
    panel.table.selectRow(0)
    panel.threshold_slider.setValue(73)  # not dragged: saved at once, like a release
    store = window.document.store
    qtbot.waitUntil(
        lambda: (
            (store.root / "classes.toml").is_file()
            and load_shoot_classes(store.root).classes[0].threshold == 0.73
        ),
        timeout=5000,
    )


def test_verdicts_from_a_run_with_other_classes_are_not_shown_as_this_tables(qtbot, window, filtered_shoot):
    """Defect 10: after a CLI run with another classes file, the desk showed its verdicts beside its own
    (different) class table."""
    with ProjectStore.open(filtered_shoot) as store:  # the desk's own table now names another class
        save_shoot_classes(
            store.root, one_class("a photo of a shoe.", ["a photo of a wall."]).select(["shoe"])
        )
    with qtbot.waitSignal(window.review_shown, timeout=10000):
        drop(window, [filtered_shoot])
    panel = window.filter_panel
    qtbot.waitUntil(lambda: panel.scores.run_key is not None and panel.table.rowCount() == 1, timeout=10000)
    qtbot.waitUntil(lambda: "Run the filter" in panel.counts_label.text(), timeout=5000)
    assert "product" in panel.counts_label.text() and "shoe" in panel.counts_label.text()
