"""Batch enhancement: every `product` image of a class, skipping the rest, cancellable and resumable."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.diffusion.batch import BatchItem, enhance_batch, items_from_store
from engine.diffusion.recipes import EnhanceRecipe
from engine.runtime.jobs import Cancelled, Job
from engine.runtime.worker import EngineWorker
from tests.fixtures.enhance import box_mask, save_mask, textured_rgb

TINY = EnhanceRecipe(steps=2, work_size=64, padding=8, seed=21)


@pytest.fixture
def folder(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for index in range(4):
        Image.fromarray(textured_rgb(64, 80, seed=index)).save(shoot / f"IMG_{index}.png")
        save_mask(box_mask(64, 80, (30, 20, 50, 40)), tmp_path / f"IMG_{index}_mask.png")
    return shoot


def items(
    folder, verdicts=("product", "product", "skipped", "product"), classes=("bag", "bag", "bag", "shoe")
):
    return [
        BatchItem(folder / f"IMG_{i}.png", folder.parent / f"IMG_{i}_mask.png", classes[i], verdicts[i])
        for i in range(4)
    ]


def test_batch_enhances_product_images_of_the_class_and_skips_the_rest(folder, tiny_registry, tmp_path):
    out = tmp_path / "out"
    report = enhance_batch(items(folder), TINY, tiny_registry, out, class_name="bag")
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0_enh_21.png", "IMG_1_enh_21.png"]
    assert [p.name for p, _ in report.skipped] == ["IMG_2.png", "IMG_3.png"]
    assert "skipped" in report.skipped[0][1] and "shoe" in report.skipped[1][1]
    # Resumable: a second run finds them done and writes nothing new.
    again = enhance_batch(items(folder), TINY, tiny_registry, out, class_name="bag")
    assert again.written == [] and len(again.already_done) == 2


def test_a_bad_image_is_reported_and_the_batch_goes_on(folder, tiny_registry, tmp_path):
    (folder / "IMG_0.png").write_bytes(b"not a png")
    report = enhance_batch(items(folder), TINY, tiny_registry, tmp_path / "out")
    assert [p.name for p, _ in report.failed] == ["IMG_0.png"]
    assert "IMG_0.png" in report.failed[0][1]
    assert sorted(p.name for p in report.written) == ["IMG_1_enh_21.png", "IMG_3_enh_21.png"]


def test_cancel_stops_between_steps_and_a_rerun_resumes(folder, tiny_registry, tmp_path):
    out = tmp_path / "out"
    all_products = items(folder, verdicts=("product",) * 4)
    tiny_registry.inpaint_pipeline(control=True)
    job = Job(lambda ctx: enhance_batch(all_products, TINY, tiny_registry, out, ctx), name="batch")

    def on_progress(progress):
        if progress.done >= 1.5:  # in the middle of the second image
            job.cancel("user")

    job.add_progress_callback(on_progress)
    worker = EngineWorker()
    try:
        outcome = worker.submit(job).wait(60)
    finally:
        worker.shutdown()
    assert isinstance(outcome, Cancelled)
    assert [p.name for p in out.iterdir()] == ["IMG_0_enh_21.png"]  # the cancelled image wrote nothing
    report = enhance_batch(all_products, TINY, tiny_registry, out)
    assert [p.name for p in report.already_done] == ["IMG_0.png"] and len(report.written) == 3


def test_items_come_from_the_project_store(folder, tiny_registry, tmp_path):
    from engine.project.store import ProjectStore

    (tmp_path / "store").mkdir()
    with ProjectStore.open(folder, tmp_path / "store") as store:
        ids = [store.register(folder / f"IMG_{i}.png") for i in range(4)]
        store.set_verdict(ids[0], None, "product", classes={"bag": 1})
        store.set_verdict(ids[1], None, "skipped", classes={"bag": 1})
        store.set_verdict(ids[2], None, "product", classes={"shoe": 1})
        store.save_edited_mask(ids[0], box_mask(64, 80, (30, 20, 50, 40)) > 0)
        chosen = items_from_store(store, "bag")
        assert [(i.image_path.name, i.verdict) for i in chosen] == [
            ("IMG_0.png", "product"),
            ("IMG_1.png", "skipped"),
        ]
        report = enhance_batch(chosen, TINY, tiny_registry, tmp_path / "out", class_name="bag")
    assert [p.name for p in report.written] == ["IMG_0_enh_21.png"]
    assert report.skipped and report.skipped[0][0].name == "IMG_1.png"
    out = np.asarray(Image.open(report.written[0]))
    assert out.shape == (64, 80, 3)


def test_batch_can_keep_the_best_fidelity_variant_of_each_image(folder, tiny_registry, tmp_path):
    from engine.diffusion.enhance import enhance, load_mask

    recipe = EnhanceRecipe(steps=2, work_size=64, padding=8, seed=21, variants=3)
    chosen = items(folder)[:1]
    report = enhance_batch(chosen, recipe, tiny_registry, tmp_path / "out", keep_best=True)
    assert len(report.written) == 1 and set(report.fidelity) == set(report.written)
    for item, path in zip(chosen, report.written, strict=True):
        # The same run by hand: the kept seed is the one whose product figures are best.
        mask = load_mask(item.mask)
        variants = enhance(item.image_path, mask, recipe, tiny_registry, None, item.class_name).variants
        best = min(variants, key=lambda v: v.fidelity.score)
        assert path.name == f"{item.image_path.stem}_enh_{best.seed}.png"
        assert report.fidelity[path].to_dict() == best.fidelity.to_dict()
    everything = enhance_batch(chosen, recipe, tiny_registry, tmp_path / "all")
    assert len(everything.written) == 3  # without keep_best: every variant
