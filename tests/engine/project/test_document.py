"""The document model without Qt: open a folder, index it, flag, edit the mask, undo, save and reopen."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.project import mask_ops
from engine.project.document import ShootDocument, index_entries, load_review, save_review_mask
from engine.project.mask_ops import Brush


@pytest.fixture
def shoot(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        pixels = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{i}.jpg", quality=90)
    (folder / "notes.txt").write_text("not an image")
    return folder


def open_indexed(folder):
    doc = ShootDocument()
    doc.open_folder(folder)
    for batch in index_entries(doc.store, [img.path for img in doc.images]):
        doc.apply_index(batch)
    return doc


def test_opening_lists_images_and_indexing_fills_ids(shoot):
    doc = ShootDocument()
    opened = []
    doc.folder_opened.connect(opened.append)
    doc.open_folder(shoot)
    assert opened == [shoot]
    assert [img.path.name for img in doc.images] == ["img_0.jpg", "img_1.jpg", "img_2.jpg"]
    assert all(img.image_id is None for img in doc.images)
    updated = []
    doc.entries_updated.connect(updated.extend)
    for batch in index_entries(doc.store, [img.path for img in doc.images]):
        doc.apply_index(batch)
    assert sorted(updated) == [0, 1, 2]
    assert all(len(img.image_id) == 32 for img in doc.images)
    with pytest.raises(NotADirectoryError):
        doc.open_folder(shoot / "img_0.jpg")
    doc.close()


def test_flags_are_saved_and_come_back(shoot):
    doc = open_indexed(shoot)
    doc.set_flag([0, 2], "pick")
    doc.set_flag([2], "reject")
    doc.set_flag([1], None)
    with pytest.raises(ValueError):
        doc.set_flag([1], "maybe")
    doc.close()
    again = open_indexed(shoot)
    assert [img.flag for img in again.images] == ["pick", None, "reject"]
    again.close()


def test_a_stroke_is_one_step_and_undo_redo_are_exact(shoot):
    doc = open_indexed(shoot)
    doc.set_review(load_review(doc.store, 0, doc.images[0].path))
    review = doc.review
    assert review.mask.shape == (120, 160) and review.mask_source == "empty"
    before = review.mask.copy()
    changes, commits = [], []
    doc.mask_changed.connect(changes.append)
    doc.mask_committed.connect(commits.append)
    doc.begin_stroke((20, 20), Brush(8, 0.5))
    for x in range(20, 140, 10):
        doc.stroke_to((x, 60))
    assert len(commits) == 0 and len(changes) > 5
    doc.end_stroke()
    painted = review.mask.copy()
    assert painted[60, 80] == 255 and len(commits) == 1 and len(review.history) == 1
    doc.undo()
    np.testing.assert_array_equal(review.mask, before)
    doc.redo()
    np.testing.assert_array_equal(review.mask, painted)
    doc.apply("grow", lambda m: mask_ops.grow(m, 3))
    assert len(review.history) == 2
    doc.close()


def test_escape_during_a_stroke_restores_the_mask(shoot):
    doc = open_indexed(shoot)
    doc.set_review(load_review(doc.store, 1, doc.images[1].path))
    doc.begin_stroke((50, 50), Brush(20))
    doc.stroke_to((100, 80))
    doc.cancel_stroke()
    assert not doc.review.mask.any() and len(doc.review.history) == 0
    doc.close()


def test_a_saved_soft_mask_comes_back_exactly_on_reopen(shoot):
    doc = open_indexed(shoot)
    doc.set_review(load_review(doc.store, 2, doc.images[2].path))
    doc.begin_stroke((80, 60), Brush(30, hardness=0.0))
    doc.end_stroke()
    image_id, mask = doc.save_snapshot()
    assert np.count_nonzero((mask > 0) & (mask < 255)) > 0
    save_review_mask(doc.store, image_id, mask)
    doc.close()
    again = open_indexed(shoot)
    assert again.images[2].has_edited_mask and not again.images[0].has_edited_mask
    review = load_review(again.store, 2, again.images[2].path, again.images[2].image_id)
    assert review.mask_source == "edited"
    np.testing.assert_array_equal(review.mask, mask)
    # Other readers of the store see the same mask, hard at 128.
    np.testing.assert_array_equal(again.store.edited_mask(image_id), mask >= 128)
    again.close()
