"""Deciding from stored scores: one path for the CLI, the filter run and the threshold slider."""

from __future__ import annotations

from engine.filter.run import ProductFilter
from engine.filter.scores import StoredScores, redecide
from engine.project.store import ProjectStore
from tests.fixtures.filter import forced, one_class, product_mask, shoot_image


def test_stored_scores_decide_like_the_run_and_only_saving_writes(tiny_registry, tmp_path):
    folder = tmp_path / "shoot"
    paths = [shoot_image(folder / f"{i}.png", color=(200, 40 * i, 20)) for i in range(3)]
    classes = one_class("a photo of a red bag.", ["a photo of a wall."], threshold=0.0, margin=-1.0)
    with ProjectStore.open(folder) as store:
        run = ProductFilter(tiny_registry, store, classes, propose=forced([product_mask((120, 160))]))
        reports = run.run(paths)
        scores = StoredScores.load(store)  # the run most verdicts came from
        assert scores.run_key == run.run_key and len(scores.regions) == 3
        assert scores.scored_classes() >= {"product", "other"}
        assert {i: v.verdict for i, v in scores.decide_all(classes).items()} == {
            r.image_id: r.verdict for r in reports
        }

        strict = classes.with_threshold("product", threshold=1.0, margin=0.0)
        in_memory = scores.decide_all(strict)  # the slider: nothing written
        assert {v.verdict for v in in_memory.values()} == {"skipped"}
        assert {e.verdict for e in store.images()} == {"product"}
        one = reports[0].image_id
        assert set(redecide(store, strict, run.run_key, [one])) == {one}  # one image, recorded
        assert [e.verdict for e in store.images()] == ["skipped", "product", "product"]
        assert StoredScores.count(in_memory) == {"skipped": 3}
