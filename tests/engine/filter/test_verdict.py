"""The verdict rule on hand-made scores (no model): thresholds, margin over "other", the band of doubt."""

from __future__ import annotations

import pytest

from engine.filter.classes import ClassesError, ClassSet, ProductClass, classes_from_argument, default_classes
from engine.filter.verdict import decide

CLASSES = ClassSet(
    (ProductClass("shoe", ("a shoe",), 0.4, 0.1), ProductClass("bag", ("a bag",), 0.5, 0.0)),
    ("a wall",),
    uncertain_band=0.05,
)


def region(shoe=0.0, bag=0.0, other=0.0):
    return {"shoe": shoe, "bag": bag, "other": other}


@pytest.mark.parametrize(
    ("regions", "verdict", "classes"),
    [
        ([], "skipped", {}),
        ([region(shoe=0.8, other=0.1)], "product", {"shoe": 1}),
        ([region(shoe=0.8, other=0.1), region(bag=0.7), region(shoe=0.9)], "product", {"shoe": 2, "bag": 1}),
        # Passes the threshold but a background prompt is nearly as likely: margin 0.07 < 0.1 → doubt.
        ([region(shoe=0.6, other=0.53)], "uncertain", {"shoe": 1}),
        ([region(shoe=0.38, other=0.1)], "uncertain", {"shoe": 1}),  # just below the threshold
        ([region(shoe=0.2, other=0.7), region(bag=0.3, other=0.6)], "skipped", {}),
        ([region(bag=0.52)], "uncertain", {"bag": 1}),  # just above: still within the band
    ],
)
def test_verdicts(regions, verdict, classes):
    result = decide(list(enumerate(regions)), CLASSES)
    assert (result.verdict, result.classes) == (verdict, classes)


def test_a_product_counts_only_passing_regions_and_names_its_best():
    result = decide([(0, region(shoe=0.9)), (1, region(shoe=0.35)), (2, region(bag=0.1))], CLASSES)
    assert result.regions == [0] and result.best.name == "shoe" and result.best.idx == 0
    assert "shoe 0.90" in result.reason


def test_moving_a_threshold_changes_the_verdict():
    scores = [(0, region(shoe=0.3, other=0.1))]
    assert decide(scores, CLASSES).verdict == "skipped"
    assert decide(scores, CLASSES.with_threshold("shoe", threshold=0.2)).verdict == "product"


def test_class_arguments():
    defaults = default_classes()
    assert defaults.names == ["hand bag", "shoe", "car", "watch or watch dial"]
    assert len(defaults.other) >= 5
    picked = classes_from_argument(" Shoe ,  sun  glasses")
    assert picked.names == ["shoe", "sun glasses"]
    assert picked.classes[0].prompts == defaults.get("shoe").prompts  # a known class keeps its prompts
    assert "a photo of a sun glasses." in picked.classes[1].prompts
    assert picked.prompts_key() != defaults.prompts_key()
    assert defaults.with_threshold("shoe", 0.9).prompts_key() == defaults.prompts_key()
    with pytest.raises(ClassesError, match="twice"):
        classes_from_argument("shoe,SHOE")


def test_classes_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('other = ["a wall"]\n[[class]]\nname = "mug"\nthreshold = 0.3\n')
    mine = classes_from_argument(str(path))
    assert mine.names == ["mug"] and mine.classes[0].threshold == 0.3 and mine.other == ("a wall",)
    path.write_text('[[class]]\nname = "mug"\nthreshold = "high"\n')
    with pytest.raises(ClassesError, match="threshold must be a number"):
        classes_from_argument(str(path))
    path.write_text("[[class]\n")
    with pytest.raises(ClassesError, match="not valid TOML"):
        classes_from_argument(str(path))
