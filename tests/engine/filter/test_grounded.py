"""Text-prompted proposals: the detector's boxes → one SAM mask per box → the same CLIP scoring and
verdict as the grid's proposals, stored under keys of their own."""

from __future__ import annotations

import numpy as np
import pytest

from engine.filter.classes import default_classes
from engine.filter.grounded import GroundedSettings, detector_queries, find_boxes, grounded_proposals
from engine.filter.run import FilterSettings, ProductFilter
from engine.models.detector import Detections
from engine.project.store import ProjectStore
from engine.segment.session import SamSession
from tests.fixtures.filter import product_rgb, shoot_image


@pytest.fixture
def rgb():
    return product_rgb()


class FixedDetector:
    """A detector stand-in that finds the same boxes (in pixels of the image it is given) every time."""

    def __init__(self, boxes, scores, labels):
        self.boxes = np.array(boxes, np.float32).reshape(-1, 4)
        self.scores, self.labels = np.array(scores, np.float32), np.array(labels, np.int64)
        self.calls: list[tuple] = []

    def __call__(self, rgb, queries, threshold, dtype=None):
        self.calls.append((rgb.shape, list(queries), threshold))
        keep = self.scores > threshold
        return Detections(self.boxes[keep], self.scores[keep], self.labels[keep])


def test_a_box_mask_is_sams_own_box_prediction(tiny_registry, rgb):
    session = SamSession(tiny_registry)
    session.set_image("img", rgb)
    boxes = [[30, 20, 90, 70], [5, 5, 40, 30]]
    found = session.masks_for_boxes(boxes)
    assert found.masks.shape == (2, 96, 128) and found.boxes.shape == (2, 4)
    for index, box in enumerate(boxes):
        masks, scores, _ = session.predict(box=box, multimask=False)
        agree = (masks[0] == found.masks[index]).mean()
        assert agree > 0.999, agree  # the reordered decoder is the library's up to float rounding
        assert found.pred_iou[index] == pytest.approx(scores[0], abs=1e-4)
    assert session.masks_for_boxes(np.zeros((0, 4))).masks.shape == (0, 96, 128)


def test_each_class_prompt_is_a_query_owned_by_its_class():
    classes = default_classes().select(["hand bag", "shoe"])
    queries, owners = detector_queries(classes)
    assert queries == [*classes.classes[0].prompts, *classes.classes[1].prompts]
    assert owners.tolist() == [0] * len(classes.classes[0].prompts) + [1] * len(classes.classes[1].prompts)


def test_boxes_are_deduplicated_per_class_and_capped():
    detector = FixedDetector(
        [[0, 0, 50, 50], [1, 1, 50, 50], [0, 0, 50, 50], [60, 60, 90, 90], [0, 0, 5, 5]],
        [0.9, 0.8, 0.7, 0.6, 0.05],
        [0, 0, 1, 0, 0],
    )
    owners = np.array([0, 1])
    _, scores, classes = find_boxes(
        detector, np.zeros((100, 100, 3), np.uint8), ["a", "b"], owners, GroundedSettings()
    )
    # the second box repeats the first (same class); the third is the same place for another class;
    # the last is below the threshold
    assert scores.tolist() == pytest.approx([0.9, 0.7, 0.6]) and classes.tolist() == [0, 1, 0]
    capped = find_boxes(
        detector, np.zeros((100, 100, 3), np.uint8), ["a", "b"], owners, GroundedSettings(max_boxes=1)
    )
    assert len(capped[0]) == 1


def test_grounded_proposals_are_the_masks_of_the_boxes_found_on_the_working_image(tiny_registry):
    rng = np.random.default_rng(2)
    full = np.full((1200, 1600, 3), 230, np.uint8)
    full[250:875, 375:1125] = rng.integers(0, 120, (625, 750, 3))
    work = full[::2, ::2].copy()  # 600 x 800 stands in for the downscaled working image
    session = SamSession(tiny_registry)
    session.set_image("big", full)
    detector = FixedDetector([[187.5, 125, 562.5, 437.5]], [0.9], [0])
    proposals = grounded_proposals(detector, session, work, default_classes(), max_side=800)
    assert detector.calls[0][0] == (600, 800, 3)  # the detector sees the working image
    direct = session.masks_for_boxes([[375, 250, 1125, 875]], max_side=800)  # the box in full pixels
    assert len(proposals) == 1 and direct.masks[0].any()
    assert (proposals.masks[0] == direct.masks[0]).all() and proposals.masks.shape[1:] == (600, 800)
    assert "detect" in proposals.timings
    nothing = grounded_proposals(FixedDetector([], [], []), session, work, default_classes(), max_side=800)
    assert len(nothing) == 0 and nothing.masks.shape == (0, 600, 800)


def test_grounded_mode_keys_apart_from_exact_and_exact_keys_are_unchanged(tiny_registry, tmp_path):
    (tmp_path / "shoot").mkdir()
    store = ProjectStore.open(tmp_path / "shoot")
    classes = default_classes()
    exact = ProductFilter(tiny_registry, store, classes)
    grounded = ProductFilter(tiny_registry, store, classes, FilterSettings(proposals_mode="grounded"))
    assert FilterSettings().key() == f"{FilterSettings().proposals.key()}|min_area=0.001"  # as before modes
    assert grounded.run_key != exact.run_key and grounded.proposals_key != exact.proposals_key
    looser = FilterSettings(proposals_mode="grounded", grounded=GroundedSettings(box_threshold=0.3))
    assert ProductFilter(tiny_registry, store, classes, looser).run_key != grounded.run_key
    # the regions come from the prompts: other classes make their own proposals
    other = ProductFilter(
        tiny_registry, store, classes.select(["shoe"]), FilterSettings(proposals_mode="grounded")
    )
    assert other.proposals_key != grounded.proposals_key
    store.close()


def test_the_real_filter_decides_from_grounded_proposals(tiny_registry, tmp_path):
    folder = tmp_path / "shoot"
    paths = [shoot_image(folder / "a.png"), shoot_image(folder / "b.png", color=(20, 40, 200))]
    store = ProjectStore.open(folder)
    settings = FilterSettings(proposals_mode="grounded", grounded=GroundedSettings(box_threshold=0.0))
    product_filter = ProductFilter(tiny_registry, store, default_classes(), settings)
    reports = product_filter.run(paths)
    assert [r.verdict in ("product", "uncertain", "skipped") for r in reports] == [True, True]
    assert all("sam_detect" in r.timings and "clip" in r.timings for r in reports)
    rows = store.region_rows(reports[0].image_id, product_filter.run_key)
    assert 0 < len(rows) == reports[0].scored <= GroundedSettings().max_boxes
    for row in rows:  # each stored region is a mask SAM made, with its box
        mask = store.load_mask(row["mask_path"])
        assert mask.shape == (120, 160) and mask.sum() == row["area"] > 0
    again = ProductFilter(tiny_registry, store, default_classes(), settings).run(paths)
    assert all(r.reused for r in again) and [r.verdict for r in again] == [r.verdict for r in reports]
    store.close()


def test_an_image_without_a_box_is_skipped_without_its_sam_embedding(tiny_registry, tmp_path, monkeypatch):
    folder = tmp_path / "shoot"
    paths = [shoot_image(folder / "a.png")]
    store = ProjectStore.open(folder)
    settings = FilterSettings(proposals_mode="grounded")
    product_filter = ProductFilter(tiny_registry, store, default_classes(), settings)
    monkeypatch.setattr(tiny_registry, "detector", lambda: FixedDetector([], [], []))
    embedded = []
    original = SamSession.set_image
    monkeypatch.setattr(SamSession, "set_image", lambda self, *a: (embedded.append(a[0]), original(self, *a)))
    [report] = product_filter.run(paths)
    assert report.verdict == "skipped" and report.scored == 0
    assert embedded == [] and report.timings["embed"] == 0.0 and "sam_detect" in report.timings
    monkeypatch.setattr(tiny_registry, "detector", lambda: FixedDetector([[20, 20, 140, 100]], [0.9], [0]))
    [found] = ProductFilter(tiny_registry, store, default_classes().select(["shoe"]), settings).run(paths)
    assert embedded == [found.image_id] and found.scored == 1 and found.timings["embed"] > 0
    store.close()
