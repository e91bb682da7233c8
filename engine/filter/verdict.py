"""The product filter's decision, from stored scores only (no model): moving a threshold re-decides a
whole shoot instantly.

A region shows its best class C when P(C) >= threshold(C) and P(C) - P(other) >= margin(C), where P(other)
is the probability of the best "other" prompt: with margin 0, C must win the argmax over classes AND
background prompts, so an image without a product comes out empty. Its decision
value is how far it is past the stricter of the two (negative: short of it). Per image, with D the best
region's value and b the class set's uncertain band:
  D >= b  → product   (the regions that pass, per class)
  D > -b  → uncertain (close to the line either way: a person decides)
  else    → skipped   (also when the image has no region at all)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.filter.classes import ClassSet
from engine.project.values import OTHER, PRODUCT, SKIPPED, UNCERTAIN


@dataclass
class RegionCall:
    """One region's best class and how far past (or short of) its thresholds it is."""

    idx: int
    name: str
    prob: float
    margin: float  # P(class) - P(best other prompt)
    value: float  # min(prob - threshold, margin - required margin)


@dataclass
class Verdict:
    verdict: str
    classes: dict[str, int] = field(default_factory=dict)  # class -> regions that pass
    regions: list[int] = field(default_factory=list)  # the passing (or, if uncertain, near) regions
    best: RegionCall | None = None
    reason: str = ""

    def best_json(self) -> dict[str, Any] | None:
        return None if self.best is None else dict(self.best.__dict__)


def call_region(idx: int, scores: dict[str, float], class_set: ClassSet) -> RegionCall:
    """The best class of a region by its decision value (each class against its own thresholds)."""
    other = float(scores.get(OTHER, 0.0))
    best = None
    for product_class in class_set.classes:
        if product_class.name not in scores:
            raise KeyError(f"scores have no class {product_class.name!r}: they come from another class set")
        prob = float(scores[product_class.name])
        value = min(prob - product_class.threshold, (prob - other) - product_class.margin)
        if best is None or value > best.value:
            best = RegionCall(idx, product_class.name, prob, prob - other, value)
    assert best is not None, "a class set has at least one class"
    return best


def decide(regions: list[tuple[int, dict[str, float]]], class_set: ClassSet) -> Verdict:
    """The verdict of an image from its regions' (index, scores) pairs."""
    calls = [call_region(idx, scores, class_set) for idx, scores in regions]
    if not calls:
        return Verdict(SKIPPED, reason="no regions found")
    band = class_set.uncertain_band
    best = max(calls, key=lambda c: c.value)
    threshold = class_set.get(best.name).threshold
    summary = f"best {best.name} {best.prob:.2f} (threshold {threshold:.2f}, margin {best.margin:+.2f})"
    if best.value >= band:
        passing = [c for c in calls if c.value >= 0]
        classes: dict[str, int] = {}
        for call in passing:
            classes[call.name] = classes.get(call.name, 0) + 1
        return Verdict(PRODUCT, classes, [c.idx for c in passing], best, summary)
    if best.value > -band:
        near = [c for c in calls if c.value > -band]
        classes = {}
        for call in near:
            classes[call.name] = classes.get(call.name, 0) + 1
        return Verdict(UNCERTAIN, classes, [c.idx for c in near], best, summary)
    return Verdict(SKIPPED, best=best, reason=summary)


def record_verdict(store: Any, image_id: str, run_key: str, verdict: Verdict) -> None:
    """Store a verdict with what the browser badges and the enhance batch read."""
    store.set_verdict(
        image_id,
        run_key,
        verdict.verdict,
        classes=verdict.classes,
        regions=verdict.regions,
        best=verdict.best_json(),
        reason=verdict.reason,
    )
