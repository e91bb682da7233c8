"""Decisions and XMP sidecars in step: read at folder open, the newer side wins, written on change,
RAW + JPEG pairs as one shot, read-only folders."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from engine.project.document import ShootDocument, index_shots
from engine.project.sidecars import SidecarSettings, write_groups
from engine.project.store import ProjectStore
from engine.project.xmp import read_sidecar
from tests.engine.project.test_xmp import DARKTABLE, DIGIKAM, LIGHTROOM
from tests.fixtures.raw import write_dng


def _jpeg(path, colour=(120, 90, 60)):
    Image.fromarray(np.full((24, 32, 3), colour, np.uint8)).save(path, quality=90)
    return path


def _age(path, seconds):
    """Date a file `seconds` in the past (a sidecar written before this desk's decisions)."""
    when = time.time() - seconds
    os.utime(path, (when, when))


@pytest.fixture
def shoot(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    write_dng(folder / "IMG_0001.dng")
    _jpeg(folder / "IMG_0001.jpg")
    write_dng(folder / "IMG_0002.dng")
    _jpeg(folder / "IMG_0003.jpg", (10, 200, 10))
    return folder


def _open(folder):
    document = ShootDocument()
    document.open_folder(folder)
    notes = []
    for batch in index_shots(document.store, document.groups()):
        notes.extend(batch.notes)
        document.apply_index(batch)
    return document, notes


def test_pairs_show_as_one_row_and_decisions_reach_both_files(shoot):
    document, _ = _open(shoot)
    assert [(i.path.name, [c.name for c in i.companions]) for i in document.images] == [
        ("IMG_0001.jpg", ["IMG_0001.dng"]),
        ("IMG_0002.dng", []),
        ("IMG_0003.jpg", []),
    ]
    document.set_rating([0], 4)
    document.toggle_label([0], "red")
    document.set_flag([0], "reject")
    notes = write_groups(document.store, [document.groups()[0]], SidecarSettings("full"))
    assert notes == []
    store = document.store
    raw_id = store.register(shoot / "IMG_0001.dng")
    assert store.rating(raw_id)[:2] == (4, "red") and store.flag(raw_id) == "reject"
    for name in ("IMG_0001.jpg.xmp", "IMG_0001.dng.xmp"):  # darktable's naming: one per file
        values = read_sidecar(shoot / name)
        assert (values.rating, values.label) == (-1, "red")
    document.close()


def test_lightroom_and_darktable_sidecars_are_read_at_open(shoot):
    (shoot / "IMG_0002.xmp").write_bytes(LIGHTROOM)  # Lightroom: IMG.xmp beside the RAW
    (shoot / "IMG_0003.jpg.xmp").write_bytes(DARKTABLE)  # darktable: IMG.jpg.xmp
    document, notes = _open(shoot)
    lightroom, darktable = document.images[1], document.images[2]
    assert (lightroom.rating, lightroom.label, lightroom.flag) == (4, "green", None)
    assert (darktable.label, darktable.flag) == ("blue", "reject")
    assert notes == []
    document.close()


def test_a_sidecar_changed_on_disk_is_picked_up_and_the_newer_value_wins(shoot):
    document, _ = _open(shoot)
    store = document.store
    document.set_rating([1], 2)
    write_groups(store, [document.groups()[1]], SidecarSettings("stem"))
    sidecar = shoot / "IMG_0002.xmp"
    assert read_sidecar(sidecar).rating == 2
    # Our own write is not read back as a change.
    _, notes = _rescan(document)
    assert notes == [] and document.images[1].rating == 2
    # Another program rates it 5 afterwards: the newer value wins, with a note.
    sidecar.write_bytes(LIGHTROOM.replace(b'xmp:Rating="4"', b'xmp:Rating="5"'))
    _, notes = _rescan(document)
    assert document.images[1].rating == 5 and document.images[1].label == "green"
    assert notes == ["IMG_0002.xmp changed on disk (newer): 2★ → 5★, label green"]
    # A sidecar older than this desk's later decision loses, and says so.
    document.set_rating([1], 1)
    sidecar.write_bytes(LIGHTROOM.replace(b'xmp:Rating="4"', b'xmp:Rating="3"'))
    _age(sidecar, 60)
    _, notes = _rescan(document)
    assert document.images[1].rating == 1
    assert notes == ["IMG_0002.xmp changed on disk; your later decision here is kept"]
    document.close()


def _rescan(document):
    notes = []
    for batch in index_shots(document.store, document.groups()):
        notes.extend(batch.notes)
        document.apply_index(batch)
    return document, notes


def test_bad_sidecars_give_notes_and_nothing_breaks(shoot):
    (shoot / "IMG_0002.xmp").write_bytes(b"<<< not xml")
    (shoot / "IMG_0003.xmp").write_bytes(LIGHTROOM.replace(b'xmp:Rating="4"', b'xmp:Rating="80"'))
    document, notes = _open(shoot)
    assert len(document.images) == 3
    assert notes[0].startswith("IMG_0002.xmp: not XML")
    assert notes[1] == "IMG_0003.xmp: xmp:Rating '80' is not on XMP's -1 to 5 scale; rating ignored"
    assert document.images[2].label == "green" and document.images[2].rating == 0
    document.set_rating([1], 3)
    notes = write_groups(document.store, [document.groups()[1]], SidecarSettings("stem"))
    assert notes == [notes[0]] and "not XML" in notes[0] and notes[0].endswith("not updated")
    assert (shoot / "IMG_0002.xmp").read_bytes() == b"<<< not xml"  # never overwritten
    document.close()


def test_keywords_from_the_filter_verdict(shoot):
    document, _ = _open(shoot)
    store = document.store
    image_id = document.image_id(2)
    store.set_verdict(image_id, "run", "product", classes={"hand bag": 1, "shoe": 2})
    write_groups(store, [document.groups()[2]], SidecarSettings("stem", keywords=True))
    assert read_sidecar(shoot / "IMG_0003.xmp").keywords == ["product/hand bag", "product/shoe"]
    document.close()


def test_read_only_folder_keeps_sidecars_in_the_store(shoot, tmp_path):
    # A store outside the folder is what `store_root_for` gives a folder it cannot write.
    (tmp_path / "user-data").mkdir()
    store = ProjectStore.open(shoot, root=tmp_path / "user-data")
    assert not store.in_folder
    image_id = store.register(shoot / "IMG_0003.jpg")
    store.set_rating(image_id, 5)
    notes = write_groups(store, [(shoot / "IMG_0003.jpg", [])], SidecarSettings("stem"))
    assert len(notes) == 1 and "read-only" in notes[0] and "project store" in notes[0]
    assert not (shoot / "IMG_0003.xmp").exists()
    assert read_sidecar(store.root / "xmp" / "IMG_0003.xmp").rating == 5
    store.close()


def test_capture_time_from_exif(shoot):
    document, _ = _open(shoot)
    raw_only = document.images[1]
    assert raw_only.captured_at == "2026-03-14T09:26:53"  # the DNG's DateTime
    document.close()


def test_no_sidecar_without_something_to_say_and_no_rewrite_of_the_same(shoot):
    document, _ = _open(shoot)
    store, settings = document.store, SidecarSettings("stem")
    document.set_rating([2], 0)
    assert write_groups(store, [document.groups()[2]], settings) == []
    assert not (shoot / "IMG_0003.xmp").exists()  # nothing to say: no file created
    document.set_rating([2], 3)
    write_groups(store, [document.groups()[2]], settings)
    sidecar = shoot / "IMG_0003.xmp"
    _age(sidecar, 30)
    stamp = sidecar.stat().st_mtime_ns
    store.save_sidecar_record(
        "IMG_0003.jpg", str(sidecar), stamp, {"rating": 3, "label": None, "keywords": []}
    )
    write_groups(store, [document.groups()[2]], settings)
    assert sidecar.stat().st_mtime_ns == stamp  # already says 3 stars: not rewritten
    document.set_rating([2], 0)
    write_groups(store, [document.groups()[2]], settings)
    assert read_sidecar(sidecar).rating == 0  # a sidecar that exists follows a reset
    document.close()


def test_a_label_cleared_in_another_program_is_picked_up(shoot):
    sidecar = shoot / "IMG_0002.xmp"
    sidecar.write_bytes(LIGHTROOM)  # 4 stars, green
    document, _ = _open(shoot)
    assert document.images[1].label == "green"
    # Lightroom removes the label while the folder is open: the attribute is gone.
    time.sleep(0.01)
    sidecar.write_bytes(LIGHTROOM.replace(b'xmp:Label="Green"', b""))
    _, notes = _rescan(document)
    assert (document.images[1].rating, document.images[1].label) == (4, None)
    assert notes == ["IMG_0002.xmp changed on disk (newer): label green cleared"]
    document.close()
    # At re-open: an explicitly empty label, written while the desk was closed, clears it too.
    document, _ = _open(shoot)
    document.toggle_label([1], "red")
    write_groups(document.store, [document.groups()[1]], SidecarSettings("stem"))
    document.close()
    time.sleep(0.01)
    sidecar.write_bytes(LIGHTROOM.replace(b'xmp:Label="Green"', b'xmp:Label=""'))
    document, notes = _open(shoot)
    assert document.images[1].label is None and document.images[1].rating == 4
    document.close()


def test_a_sidecar_without_a_label_field_does_not_clear_a_label_set_here(shoot):
    document, _ = _open(shoot)
    document.toggle_label([1], "blue")
    time.sleep(0.01)
    # A tool that writes only ratings (no label field, and no label seen in this sidecar before).
    (shoot / "IMG_0002.xmp").write_bytes(LIGHTROOM.replace(b'xmp:Label="Green"', b""))
    _rescan(document)
    assert (document.images[1].rating, document.images[1].label) == (4, "blue")
    document.close()


def test_digikam_sidecar_is_read_at_open_and_kept_in_step(shoot):
    sidecar = shoot / "IMG_0002.dng.xmp"  # digiKam keeps the full name, as darktable does
    sidecar.write_bytes(DIGIKAM)
    document, notes = _open(shoot)
    image = document.images[1]
    assert (image.rating, image.label, image.flag) == (3, "green", "pick") and notes == []
    document.toggle_label([1], "green")  # cleared here
    document.set_flag([1], None)
    write_groups(document.store, [document.groups()[1]], SidecarSettings("full"))
    values = read_sidecar(sidecar)
    assert (values.rating, values.label, values.label_cleared, values.pick) == (3, None, True, "")
    assert b"Shoots/Spring" in sidecar.read_bytes()
    document.close()
