"""Culling on the review desk: Lightroom's keys, badges, the rating/label/sort bar, RAW+JPEG pairs, and
XMP sidecars written on change and picked up when another program changes them."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt

from engine.project.xmp import read_sidecar
from gui.browse.badges import culling_text, format_badge
from gui.browse.sort_filter import CullCriteria
from tests.engine.project.test_xmp import LIGHTROOM
from tests.fixtures.gui import drop, make_shoot
from tests.fixtures.raw import write_dng


def _open(qtbot, window, folder):
    with qtbot.waitSignal(window.review_shown, timeout=15000):
        drop(window, [folder])
    images = window.document.images
    qtbot.waitUntil(lambda: all(image.image_id for image in images), timeout=15000)
    window.tasks.flush()


def _shoot(tmp_path):
    folder = make_shoot(tmp_path / "shoot", count=3)  # shot_000.jpg .. shot_002.jpg
    write_dng(folder / "shot_000.dng")  # the RAW of shot_000.jpg
    write_dng(folder / "shot_009.dng", orientation=6)  # a RAW alone
    return folder


def test_keys_rate_and_label_the_pair_and_write_its_sidecar(qtbot, window, tmp_path):
    folder = _shoot(tmp_path)
    _open(qtbot, window, folder)
    images = window.document.images
    assert [image.path.name for image in images] == [
        "shot_000.jpg",
        "shot_001.jpg",
        "shot_002.jpg",
        "shot_009.dng",
    ]
    assert [format_badge(image) for image in images] == ["RAW+JPEG", "", "", "RAW"]
    browser = window.browser
    browser.setFocus()
    qtbot.keyClick(browser, Qt.Key.Key_4)
    qtbot.keyClick(browser, Qt.Key.Key_6)
    assert (images[0].rating, images[0].label) == (4, "red")
    qtbot.keyClick(browser, Qt.Key.Key_6)  # the same label key again clears it (Lightroom)
    qtbot.keyClick(browser, Qt.Key.Key_8)
    assert images[0].label == "green"
    window.tasks.flush()
    sidecar = folder / "shot_000.xmp"  # Lightroom's naming (the default) serves the RAW and the JPEG
    values = read_sidecar(sidecar)
    assert (values.rating, values.label) == (4, "green")
    store = window.document.store
    assert store.rating(store.register(folder / "shot_000.dng"))[:2] == (4, "green")
    assert window.canvas_badge.isVisible() and window.canvas_badge.text() == culling_text(images[0])
    assert window.canvas_badge.text() == "★★★★☆ · green · RAW+JPEG"
    qtbot.keyClick(browser, Qt.Key.Key_X)  # a reject is xmp:Rating -1
    window.tasks.flush()
    assert read_sidecar(sidecar).rating == -1


def test_bar_filters_by_rating_and_label_and_sorts(qtbot, window, tmp_path):
    folder = _shoot(tmp_path)
    _open(qtbot, window, folder)
    document, proxy = window.document, window.browser.proxy
    document.set_rating([1], 5)
    document.set_rating([2], 2)
    document.toggle_label([2], "blue")
    bar = window.cull_bar
    bar.rating_combo.setCurrentIndex(bar.rating_combo.findData(2))
    assert proxy.rowCount() == 2
    bar.label_combo.setCurrentIndex(bar.label_combo.findData("blue"))
    assert proxy.rowCount() == 1
    bar.rating_combo.setCurrentIndex(0)
    bar.label_combo.setCurrentIndex(0)
    bar.sort_combo.setCurrentIndex(bar.sort_combo.findData("rating"))
    shown = [proxy.mapToSource(proxy.index(r, 0)).row() for r in range(proxy.rowCount())]
    assert shown == [1, 2, 0, 3]
    bar.sort_combo.setCurrentIndex(bar.sort_combo.findData("name"))
    shown = [proxy.mapToSource(proxy.index(r, 0)).row() for r in range(proxy.rowCount())]
    assert shown == [0, 1, 2, 3]


def test_sort_by_capture_time_uses_exif():
    from pathlib import Path

    from engine.project.document import ShootImage

    late = ShootImage(Path("a.jpg"), captured_at="2026-03-14T10:00:00")
    early = ShootImage(Path("b.jpg"), captured_at="2026-03-14T09:00:00")
    unknown = ShootImage(Path("c.jpg"))
    by_time = sorted([late, unknown, early], key=CullCriteria(sort="time").sort_key)
    assert by_time == [early, late, unknown]


def test_a_sidecar_changed_by_another_program_is_picked_up(qtbot, window, tmp_path):
    folder = _shoot(tmp_path)
    _open(qtbot, window, folder)
    images = window.document.images
    window.document.set_rating([1], 1)
    window.tasks.flush()
    time.sleep(0.02)
    sidecar = folder / "shot_001.xmp"
    assert read_sidecar(sidecar).rating == 1
    # Lightroom rewrites it (atomically, as it does: a new file renamed over the old one).
    tmp = folder / ".shot_001.xmp.tmp"
    tmp.write_bytes(LIGHTROOM)
    os.replace(tmp, sidecar)
    qtbot.waitUntil(lambda: images[1].rating == 4, timeout=10000)
    assert images[1].label == "green"
    qtbot.waitUntil(
        lambda: "shot_001.xmp changed on disk" in window.statusBar().currentMessage(), timeout=5000
    )


def test_a_label_cleared_by_another_program_is_picked_up(qtbot, window, tmp_path):
    folder = _shoot(tmp_path)
    _open(qtbot, window, folder)
    images = window.document.images
    window.document.toggle_label([1], "red")
    window.tasks.flush()
    time.sleep(0.02)
    sidecar = folder / "shot_001.xmp"
    assert read_sidecar(sidecar).label == "red"
    # Lightroom clears the label: its sidecar no longer has xmp:Label.
    tmp = folder / ".shot_001.xmp.tmp"
    tmp.write_bytes(LIGHTROOM.replace(b'xmp:Label="Green"', b""))
    os.replace(tmp, sidecar)
    qtbot.waitUntil(lambda: images[1].rating == 4, timeout=10000)
    assert images[1].label is None
    qtbot.waitUntil(lambda: "label red cleared" in window.statusBar().currentMessage(), timeout=5000)


def test_bad_sidecar_gives_a_status_note(qtbot, window, tmp_path):
    folder = _shoot(tmp_path)
    (folder / "shot_002.xmp").write_bytes(b"<<< definitely not xml")
    _open(qtbot, window, folder)
    note = window.sidecar_sync.note_label
    qtbot.waitUntil(lambda: "shot_002.xmp: not XML" in note.text(), timeout=5000)
    assert len(window.document.images) == 4


def test_filter_classes_reach_the_sidecar_as_keywords_when_asked(qtbot, window, tmp_path):
    folder = _shoot(tmp_path)
    _open(qtbot, window, folder)
    assert not (folder / "shot_001.xmp").exists()  # opening writes nothing
    window.sidecar_sync.set_keywords(True)
    document, store = window.document, window.document.store
    store.set_verdict(document.image_id(1), "run", "product", classes={"hand bag": 2})
    # What the Filter panel does when a run ends: re-read the entries from the store.
    document.apply_index({entry.path: entry for entry in store.images()})
    window.tasks.flush()
    assert read_sidecar(folder / "shot_001.xmp").keywords == ["product/hand bag"]
    assert not (folder / "shot_002.xmp").exists()  # nothing to say about the others
    window.sidecar_sync.set_keywords(False)
