"""Coarse-to-fine proposals (`--proposals coarse`) on the tiny models, through the real filter."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image
from segment_anything.utils.amg import build_all_layer_point_grids

from engine.api import FilterRequest
from engine.filter.coarse import BOX_MARGIN, points_in_boxes
from engine.filter.run import FilterSettings, ProductFilter
from engine.project.store import ProjectStore
from engine.runtime.jobs import Succeeded
from engine.segment.session import ProposalSettings, SamSession
from tests.fixtures.filter import one_class, shoot_image

SETTINGS = FilterSettings(
    ProposalSettings(points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0),
    min_area_fraction=0,
)
COARSE = replace(SETTINGS, proposals_mode="coarse")


def test_the_dense_points_are_those_inside_the_grown_boxes():
    grid = build_all_layer_point_grids(8, 0, 1)[0] * np.array([160, 120])
    box = np.array([[10, 20, 59, 69]])  # 50 x 50 pixels: grown by 5 on every side
    inside = points_in_boxes(box, 8, (120, 160)) * np.array([160, 120])
    margin = BOX_MARGIN * 50
    expected = grid[
        (grid[:, 0] >= 10 - margin)
        & (grid[:, 0] <= 60 + margin)
        & (grid[:, 1] >= 20 - margin)
        & (grid[:, 1] <= 70 + margin)
    ]
    assert 0 < len(inside) < len(grid)
    np.testing.assert_allclose(inside, expected)
    assert len(points_in_boxes(np.zeros((0, 4)), 8, (120, 160))) == 0


def test_proposals_from_the_whole_grid_as_points_equal_the_grids(tiny_registry, tmp_path):
    shoot = shoot_image(tmp_path / "a.png")
    rgb = np.asarray(Image.open(shoot).convert("RGB"))
    session = SamSession(tiny_registry, None, "fp32")
    session.set_image("a", rgb)
    grid = build_all_layer_point_grids(4, 0, 1)[0]
    settings = replace(SETTINGS.proposals, points_per_side=4)
    whole, given = session.propose(settings), session.propose(settings, points=grid)
    assert len(whole) == len(given) > 0
    np.testing.assert_array_equal(whole.masks, given.masks)
    assert len(session.propose(settings, points=grid[:3])) <= 3 * 3  # three prompts, three masks each


def test_coarse_mode_gives_regions_and_a_verdict_keyed_apart_from_exact(tiny_registry, tiny_engine, tmp_path):
    folder = tmp_path / "shoot"
    shoot_image(folder / "a.png")
    classes = one_class("a photo of a hand bag", ["a photo of a wall"])
    outcome = tiny_engine.run(tiny_engine.filter(FilterRequest(folder, None, classes, COARSE)))
    assert isinstance(outcome, Succeeded)
    (report,) = outcome.value.reports
    assert report.verdict in ("product", "uncertain", "skipped") and report.scored > 0
    assert {"sam_coarse", "sam_candidates", "sam_refine"} <= set(report.timings)  # the coarse path ran
    assert 0 < report.timings["sam_refined_points"] <= 64  # the dense grid, or a part of it
    with ProjectStore.open(folder) as store:
        exact, coarse = (ProductFilter(tiny_registry, store, classes, s) for s in (SETTINGS, COARSE))
        assert coarse.run_key == outcome.value.run_key != exact.run_key
        assert coarse.proposals_key != exact.proposals_key  # exact runs never reuse coarse regions
        other = ProductFilter(tiny_registry, store, one_class("a photo of a shoe", ["a wall"]), COARSE)
        assert other.proposals_key != coarse.proposals_key  # CLIP's prompts chose where to refine
        assert exact.settings.key() == FilterSettings(SETTINGS.proposals, min_area_fraction=0).key()
        assert "proposals=" not in exact.settings.key()  # exact keeps the keys it had
        assert not exact.process(folder / "a.png").reused  # exact mode does its own regions
        bf16, fp32 = (
            ProductFilter(tiny_registry, store, classes, replace(COARSE, precision=p))
            for p in ("bf16", "fp32")
        )
        assert bf16.run_key != fp32.run_key and bf16.proposals_key != fp32.proposals_key  # by precision


def test_refinement_stays_near_the_prompt_that_found_a_region():
    """A region whose mask spreads over the whole image is refined only within `reach` of its prompt."""
    whole = np.array([[0, 0, 159, 119]])
    everywhere = points_in_boxes(whole, 8, (120, 160))
    near = points_in_boxes(whole, 8, (120, 160), np.array([[0.25, 0.5]]), reach=0.125)
    assert len(everywhere) == 64 and 0 < len(near) < 16
    assert np.abs(near - [0.25, 0.5]).max() <= 0.125
