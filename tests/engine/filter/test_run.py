"""The product filter on tiny models: verdicts, stored scores re-deciding without models, resuming."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from engine.api import FilterRequest
from engine.filter.run import FilterSettings, ProductFilter
from engine.filter.scores import redecide
from engine.project.store import ProjectStore
from engine.runtime.jobs import Cancelled, Succeeded
from engine.segment.session import ProposalSettings
from tests.fixtures.filter import (
    CANDIDATE_PROMPTS,
    forced,
    one_class,
    product_mask,
    prompt_probabilities,
    shoot_image,
)

# Random tiny SAM: no filter keeps anything at default thresholds, and its masks all share one box, so
# box NMS is off (1.0) to keep several regions per image.
FAST_SAM = FilterSettings(
    ProposalSettings(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0),
    min_area_fraction=0,
)


class NoModels:
    """A registry that knows where models are but refuses to load any: proves a step runs no model."""

    def __init__(self, registry):
        self.config = registry.config

    def sam(self):
        raise AssertionError("SAM was loaded")

    def clip(self):
        raise AssertionError("CLIP was loaded")


@pytest.fixture
def shoot(tmp_path):
    return shoot_image(tmp_path / "shoot" / "bag.png")


def _ranked_prompts(tiny_registry, path):
    rgb = np.asarray(Image.open(path).convert("RGB"))
    probs = prompt_probabilities(tiny_registry, rgb, [product_mask(rgb.shape[:2])], CANDIDATE_PROMPTS)[0]
    order = np.argsort(-probs)
    return [CANDIDATE_PROMPTS[i] for i in order], probs[order]


def test_forced_product_mask_is_a_product_with_its_mask_stored(tiny_registry, shoot):
    ranked, _ = _ranked_prompts(tiny_registry, shoot)
    # The class is the prompt CLIP ranks first for the crop: it beats every "other" prompt.
    class_set = one_class(ranked[0], ranked[1:])
    mask = product_mask((120, 160))
    with ProjectStore.open(shoot.parent) as store:
        report = ProductFilter(tiny_registry, store, class_set, propose=forced([mask])).process(shoot)
        assert report.verdict == "product" and report.classes == {"product": 1}
        [region] = report.regions
        assert region["box"] == [40, 30, 119, 89]
        stored = np.asarray(Image.open(region["mask"])) > 0
        assert np.array_equal(stored, mask)
        assert store.entry(report.image_id).verdict == "product"
        assert np.array_equal(store.mask_for_review(report.image_id, (160, 120)), mask)


def test_crops_that_all_score_other_are_skipped(tiny_registry, shoot):
    ranked, _ = _ranked_prompts(tiny_registry, shoot)
    # The class is the prompt CLIP ranks last: every crop scores "other".
    class_set = one_class(ranked[-1], ranked[:-1])
    with ProjectStore.open(shoot.parent) as store:
        report = ProductFilter(
            tiny_registry, store, class_set, propose=forced([product_mask((120, 160))])
        ).process(shoot)
    assert report.verdict == "skipped" and report.classes == {} and report.regions == []
    assert report.scored == 1


def test_best_score_near_the_line_is_uncertain(tiny_registry, shoot):
    ranked, probs = _ranked_prompts(tiny_registry, shoot)
    lead = float(probs[0] - probs[1])  # how far the top prompt beats the best "other" one
    class_set = one_class(ranked[0], ranked[1:], margin=lead / 2, band=lead)
    with ProjectStore.open(shoot.parent) as store:
        report = ProductFilter(
            tiny_registry, store, class_set, propose=forced([product_mask((120, 160))])
        ).process(shoot)
    assert report.verdict == "uncertain" and report.classes == {"product": 1}


def test_threshold_changes_redecide_from_stored_scores_without_models(tiny_registry, tmp_path):
    for i in range(3):
        shoot_image(tmp_path / "shoot" / f"img{i}.png", color=(60 * i, 100, 200 - 50 * i))
    folder = tmp_path / "shoot"
    classes = one_class("a photo of a handbag.", CANDIDATE_PROMPTS[4:], threshold=0.0, margin=-1.0)
    with ProjectStore.open(folder) as store:
        product_filter = ProductFilter(tiny_registry, store, classes, FAST_SAM)
        first = product_filter.run(sorted(folder.glob("*.png")))
        assert [r.verdict for r in first] == ["product"] * 3 and not any(r.reused for r in first)
        assert all(r.scored > 1 for r in first)  # real SAM proposals, all scored

        strict = classes.with_threshold("product", threshold=1.0, margin=0.0)
        verdicts = redecide(store, strict, product_filter.run_key)
        assert {v.verdict for v in verdicts.values()} == {"skipped"}
        assert {e.verdict for e in store.images()} == {"skipped"}

        # The same through a filter run that cannot load any model: everything comes from the store.
        again = ProductFilter(NoModels(tiny_registry), store, strict, FAST_SAM)
        assert again.run_key == product_filter.run_key  # thresholds are not part of the key
        reports = again.run(sorted(folder.glob("*.png")))
        assert [r.verdict for r in reports] == ["skipped"] * 3 and all(r.reused for r in reports)

        # Halfway: exactly the regions above the new threshold count.
        rows = store.region_rows(first[0].image_id, product_filter.run_key)
        probs = sorted(json.loads(r["scores"])["product"] for r in rows)
        middle = (probs[len(probs) // 2 - 1] + probs[len(probs) // 2]) / 2
        halfway = classes.with_threshold("product", threshold=middle)
        verdict = redecide(store, halfway, product_filter.run_key)[first[0].image_id]
        assert verdict.classes == {"product": sum(p >= middle for p in probs)}


def test_cancelled_run_resumes_and_reruns_only_new_or_changed(tiny_registry, tiny_engine, tmp_path):
    folder = tmp_path / "shoot"
    for i in range(4):
        shoot_image(folder / f"img{i}.png", color=(50 * i, 80, 120))
    paths = sorted(folder.glob("*.png"))
    classes = one_class("a photo of a shoe.", CANDIDATE_PROMPTS[4:])
    request = FilterRequest(folder, paths, classes, FAST_SAM)
    job = tiny_engine.filter(request)
    assert isinstance(tiny_engine.run(job, lambda p: job.cancel("user") if p.done >= 2 else None), Cancelled)
    store = tiny_engine.store(folder)
    done = [e for e in store.images() if e.verdict is not None]
    assert len(done) == 2  # the finished images are kept

    resumed = tiny_engine.run(tiny_engine.filter(request))
    assert isinstance(resumed, Succeeded)
    assert [r.reused for r in resumed.value.reports] == [True, True, False, False]

    shoot_image(folder / "img1.png", color=(10, 200, 10))  # changed content
    shoot_image(folder / "new.png", color=(90, 90, 250))  # a new image
    paths = sorted(folder.glob("*.png"))
    rerun = ProductFilter(tiny_registry, store, classes, FAST_SAM).run(paths)
    fresh = {r.rel_path for r in rerun if not r.reused}
    assert fresh == {"img1.png", "new.png"}


def test_an_image_where_sam_proposes_nothing_is_skipped_not_an_error(tiny_registry, shoot):
    """The tiny SAM at the real default thresholds keeps no proposal: the image has no product."""
    from engine.filter.classes import default_classes

    with ProjectStore.open(shoot.parent) as store:
        report = ProductFilter(tiny_registry, store, default_classes(), FilterSettings()).process(shoot)
    assert report.verdict == "skipped", report.reason
    assert report.regions == [] and report.scored == 0


class NoSam(NoModels):
    """A registry that loads CLIP but refuses SAM: proves a step made no proposals."""

    def __init__(self, registry):
        super().__init__(registry)
        self._registry = registry

    def clip(self):
        return self._registry.clip()


def test_editing_the_classes_rescores_the_stored_regions_without_sam(tiny_registry, tmp_path):
    shoot = shoot_image(tmp_path / "shoot" / "bag.png")
    bags, shoes = (
        one_class("a photo of a hand bag.", ["a wall."]),
        one_class("a photo of a shoe.", ["a floor."]),
    )
    with ProjectStore.open(shoot.parent) as store:
        first = ProductFilter(tiny_registry, store, bags, FAST_SAM)
        image_id = first.process(shoot).image_id
        edited = ProductFilter(NoSam(tiny_registry), store, shoes, FAST_SAM)
        assert edited.run_key != first.run_key and edited.proposals_key == first.proposals_key
        report = edited.process(shoot)
        regions = [
            [(r["box"], store.load_mask(r["mask_path"]).tobytes()) for r in store.region_rows(image_id, key)]
            for key in (first.run_key, edited.run_key)
        ]
        assert len(regions[1]) > 1 and regions[1] == regions[0]
        assert report.timings["embed"] == 0.0 and "sam_reuse" in report.timings
        reused_scores = [json.loads(r["scores"]) for r in store.region_rows(image_id, edited.run_key)]
        # Other proposal settings need SAM again.
        other_grid = FilterSettings(replace(FAST_SAM.proposals, points_per_side=3), min_area_fraction=0)
        with pytest.raises(AssertionError, match="SAM was loaded"):
            ProductFilter(NoSam(tiny_registry), store, shoes, other_grid).process(shoot)
    # The same scores as a run that makes the regions itself.
    fresh_shoot = shoot_image(tmp_path / "fresh" / "bag.png")
    with ProjectStore.open(fresh_shoot.parent) as store:
        fresh = ProductFilter(tiny_registry, store, shoes, FAST_SAM)
        fresh_id = fresh.process(fresh_shoot).image_id
        fresh_scores = [json.loads(r["scores"]) for r in store.region_rows(fresh_id, fresh.run_key)]
    assert fresh_id == image_id and len(fresh_scores) == len(reused_scores)
    for ours, theirs in zip(reused_scores, fresh_scores, strict=True):
        assert ours.keys() == theirs.keys() and all(abs(ours[k] - theirs[k]) < 1e-6 for k in ours)


def test_results_are_keyed_by_precision(tiny_registry, shoot):
    with ProjectStore.open(shoot.parent) as store:
        classes = one_class("a photo of a hand bag", ["a photo of a wall"])
        runs = {
            p: ProductFilter(tiny_registry, store, classes, replace(FAST_SAM, precision=p))
            for p in ("fp32", "bf16")
        }
        assert runs["fp32"].run_key != runs["bf16"].run_key
        assert runs["fp32"].proposals_key != runs["bf16"].proposals_key  # regions are not shared either
        first = runs["bf16"].process(shoot)
        assert not first.reused and "sam_reuse" not in first.timings
        again = runs["fp32"].process(shoot)  # nothing of the bf16 run is taken
        assert not again.reused and "sam_reuse" not in again.timings
        assert runs["bf16"].process(shoot).reused
        # fp32 keeps the key it had before precisions existed (stores made earlier stay valid)
        from engine.filter.clip_scoring import clip_model_key
        from engine.filter.run import make_run_key
        from engine.segment.session import sam_model_key

        plain = f"{sam_model_key(tiny_registry)}|{clip_model_key(tiny_registry)}"
        assert runs["fp32"].run_key == make_run_key(plain, FAST_SAM, classes)


def test_batch_sizes_default_by_device_and_precision(tiny_registry, shoot, monkeypatch):
    """Without sizes in the settings, the decoder and CLIP batch as measured for the device and
    precision (bench_filter_batches.py); on the CPU the proposals' decoder is fp32 whatever the precision,
    while CLIP runs in the filter's precision."""
    import torch

    from engine.filter import clip_scoring
    from engine.segment import proposals as sam_proposals

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert sam_proposals.default_points_per_batch(cuda, torch.float16) == 256
    assert clip_scoring.default_clip_batch(cuda, torch.float16) == 64
    seen = {"points": set(), "crops": []}
    real_decode, real_score = sam_proposals.decode_passing, clip_scoring.ClipScorer.score_crops

    def decode(decoder, prepared, sparse, thresh, **options):
        seen["points"].add(sparse.shape[0])
        return real_decode(decoder, prepared, sparse, thresh, **options)

    def score(self, crops, class_set, batch_size=64):
        seen["crops"].append((self.dtype, batch_size))
        return real_score(self, crops, class_set, batch_size)

    monkeypatch.setattr(sam_proposals, "decode_passing", decode)
    monkeypatch.setattr(clip_scoring.ClipScorer, "score_crops", score)
    settings = replace(FAST_SAM, proposals=replace(FAST_SAM.proposals, points_per_side=16))
    classes = one_class("a photo of a hand bag", ["a photo of a wall"])
    with ProjectStore.open(shoot.parent) as store:
        for precision in ("fp32", "bf16"):
            seen["points"].clear()
            ProductFilter(tiny_registry, store, classes, replace(settings, precision=precision)).process(
                shoot
            )
            points = sam_proposals.default_points_per_batch(cpu, torch.float32)
            assert max(seen["points"]) == min(points, 256)  # 16² prompts in batches of the default
            dtype = torch.float32 if precision == "fp32" else torch.bfloat16
            assert seen["crops"][-1] == (dtype, clip_scoring.default_clip_batch(cpu, dtype))
