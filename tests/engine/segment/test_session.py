"""SamSession on the tiny SAM: cached embeddings, clicks, automatic proposals equal to the library's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from segment_anything import SamAutomaticMaskGenerator

from engine.runtime.embedding_cache import EmbeddingCache
from engine.segment.session import ProposalSettings, SamSession
from tests.fixtures.filter import product_rgb


@pytest.fixture
def rgb():
    return product_rgb()


def test_predict_before_set_image_is_a_clear_error(tiny_registry):
    session = SamSession(tiny_registry)
    with pytest.raises(RuntimeError, match="set_image"):
        session.predict(points=[[1, 1]], labels=[1])


def test_embedding_is_cached_on_disk_and_reused(tiny_registry, rgb, tmp_path):
    cache = EmbeddingCache(tmp_path / "sam")
    first = SamSession(tiny_registry, cache)
    first.set_image("img1", rgb)
    assert not first.last_embed_from_cache
    masks1, scores1, low1 = first.predict(points=[[60, 45]], labels=[1])
    second = SamSession(tiny_registry, cache)  # another user of the cache: the mask canvas
    assert second.embed("img1", rgb) is True
    second.set_image("img1", rgb)
    assert second.last_embed_from_cache
    masks2, scores2, _ = second.predict(points=[[60, 45]], labels=[1])
    assert (
        masks1.shape == (3, 96, 128) and masks1.dtype == bool and low1.shape == (3, 256, 256)
    )  # 4x the 64x64 embedding grid, as real SAM
    assert np.array_equal(masks1, masks2) and np.allclose(scores1, scores2)
    assert list(scores1) == sorted(scores1, reverse=True)
    box_masks, _, _ = second.predict(box=[30, 20, 90, 70], multimask=False)
    assert box_masks.shape == (1, 96, 128)


@pytest.mark.parametrize(
    ("iou_quantile", "scale"),
    [(None, 1), (0.5, 1), (0.5, 8)],  # scale 8: 1024 px wide, SAM's input size: one resize fewer
)
def test_proposals_match_the_library_generator(tiny_registry, rgb, iou_quantile, scale):
    sam = tiny_registry.sam()
    rgb = np.repeat(np.repeat(rgb, scale, 0), scale, 1)

    def library(iou_thresh, nms):
        generator = SamAutomaticMaskGenerator(
            sam,
            points_per_side=4,
            pred_iou_thresh=iou_thresh,
            stability_score_thresh=0.0,
            box_nms_thresh=nms,
            output_mode="binary_mask",
        )
        with torch.inference_mode():
            return generator.generate(rgb)

    iou_thresh = 0.0
    if iou_quantile is not None:  # a threshold that drops about half: exercises the split decoder
        iou_thresh = float(np.quantile([a["predicted_iou"] for a in library(0.0, 1.0)], iou_quantile))
    settings = ProposalSettings(
        points_per_side=4,
        points_per_batch=50,
        pred_iou_thresh=iou_thresh,
        stability_score_thresh=0.0,
        box_nms_thresh=1.0,
    )
    session = SamSession(tiny_registry)
    session.set_image("img", rgb)
    ours = session.propose(settings)
    theirs = library(iou_thresh, 1.0)
    assert 0 < len(ours) == len(theirs) <= 3 * 16 - (3 * 16 // 2 if iou_quantile else 0)
    assert ours.masks.shape[1:] == rgb.shape[:2] and ours.masks.dtype == bool
    assert np.allclose(sorted(ours.pred_iou), sorted(a["predicted_iou"] for a in theirs), atol=1e-6)
    # The same masks, paired by predicted IoU, up to pixels whose logit is at rounding level (the decoder's
    # arithmetic is reordered): a handful of a 1024 px image's 786k, so the boxes agree within a pixel.
    mine, by_iou = np.argsort(ours.pred_iou), sorted(theirs, key=lambda a: a["predicted_iou"])
    for mask, box, their in zip(ours.masks[mine], ours.boxes[mine], by_iou, strict=True):
        assert np.count_nonzero(mask != their["segmentation"]) <= max(2, mask.size // 100_000)
        x, y, w, h = their["bbox"]
        assert np.abs(box - np.array([x, y, x + w, y + h])).max() <= 1
    deduplicated = session.propose(replace(settings, box_nms_thresh=0.7))
    assert len(deduplicated) == len(library(iou_thresh, 0.7)) < len(ours)


def test_proposals_at_working_size_for_large_images(tiny_registry):
    big = np.random.default_rng(2).integers(0, 255, (600, 1500, 3), dtype=np.uint8)
    session = SamSession(tiny_registry)
    session.set_image("big", big)
    settings = ProposalSettings(points_per_side=4, pred_iou_thresh=0, stability_score_thresh=0, max_side=300)
    proposals = session.propose(settings)
    assert proposals.masks.shape[1:] == (120, 300)
    assert (proposals.boxes[:, 2] < 300).all() and (proposals.boxes[:, 3] < 120).all()


def test_embeddings_are_cached_per_precision(tiny_registry, rgb, tmp_path):
    cache = EmbeddingCache(tmp_path / "sam")
    fp32 = SamSession(tiny_registry, cache, "fp32")
    bf16 = SamSession(tiny_registry, cache, "bf16")
    assert fp32.model_key != bf16.model_key and bf16.model_key.endswith("-bf16")
    assert fp32.embed("img", rgb) is False
    assert bf16.embed("img", rgb) is False  # the fp32 embedding is not taken for a bf16 one
    assert bf16.embed("img", rgb) is True
    a = cache.get("img", fp32.model_key)["features"]
    b = cache.get("img", bf16.model_key)["features"]
    assert a.dtype == b.dtype == np.float32 and not np.array_equal(a, b)
    # Close, as bf16 should be: a few percent at most on the tiny random model.
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 0.05


def test_decoder_batches_side_by_side_give_the_same_proposals(tiny_registry, rgb):
    """Two batches at a time (the CPU default) make the same masks as one at a time, keep their order, and
    leave the process's torch threads as they were."""
    session = SamSession(tiny_registry)
    session.set_image("img", rgb)
    settings = ProposalSettings(
        points_per_side=8, points_per_batch=4, pred_iou_thresh=0, stability_score_thresh=0, box_nms_thresh=1.0
    )
    threads = torch.get_num_threads()
    one = session.propose(replace(settings, workers=1))
    two = session.propose(replace(settings, workers=2))
    assert torch.get_num_threads() == threads
    assert len(one) == len(two) == 3 * 64  # every prompt's three masks, none filtered
    assert np.array_equal(one.points, two.points)  # the same prompt behind each mask, in the same order
    np.testing.assert_allclose(two.pred_iou, one.pred_iou, atol=1e-6)
    assert np.count_nonzero(one.masks != two.masks) <= one.masks.size // 100_000  # rounding-level pixels


def test_a_cancelled_proposal_run_stops_its_batches(tiny_registry, rgb):
    class Cancelled(Exception):
        pass

    session = SamSession(tiny_registry)
    session.set_image("img", rgb)
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 2:
            raise Cancelled

    threads = torch.get_num_threads()
    settings = ProposalSettings(points_per_side=8, points_per_batch=2, workers=2)  # 32 batches
    with pytest.raises(Cancelled):
        session.propose(settings, check)
    assert len(calls) < 8 and torch.get_num_threads() == threads  # the batches not started were dropped
