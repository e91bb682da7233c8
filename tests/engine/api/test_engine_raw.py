"""The engine's filter job on a RAW shoot: a RAW + JPEG pair is filtered once, through its JPEG; a RAW
alone is read from its cached working image."""

from __future__ import annotations

from engine.api import FilterRequest
from engine.filter.run import FilterRun, FilterSettings
from engine.segment.session import ProposalSettings
from tests.fixtures.filter import CANDIDATE_PROMPTS, one_class, shoot_image
from tests.fixtures.raw import write_dng


def test_filter_runs_once_per_shot_and_reads_raws(tiny_engine, tmp_path):
    folder = tmp_path / "shoot"
    shoot_image(folder / "IMG_1.jpg", color=(200, 60, 20))
    write_dng(folder / "IMG_1.dng")
    write_dng(folder / "IMG_2.dng", size=(160, 120), preview=(80, 60))
    classes = one_class("a photo of a red bag.", CANDIDATE_PROMPTS[4:], threshold=0.0, margin=-1.0)
    proposals = ProposalSettings(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    request = FilterRequest(folder, None, classes, FilterSettings(proposals, min_area_fraction=0))
    run: FilterRun = tiny_engine.run(tiny_engine.filter(request)).value
    assert [r.rel_path for r in run.reports] == ["IMG_1.jpg", "IMG_2.dng"]
    assert run.failed == {}
    store = tiny_engine.store(folder)
    assert list(store.raw_cache.glob("*/*.npy"))  # the RAW's full decode, in the store's cache
