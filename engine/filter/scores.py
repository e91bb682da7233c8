"""The product filter as the review desk uses it: run it as an engine job, and re-decide the shoot from
stored scores while a threshold slider moves (in memory, nothing written) before saving the verdicts.

An adapter over engine/product_filter.py and engine/verdict.py; no model runs outside the job.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.filter.classes import ClassSet, default_classes, parse_classes
from engine.filter.verdict import ERROR, Verdict, decide, record_verdict
from engine.project.store import ProjectStore
from engine.runtime.atomic import atomic_write_bytes
from engine.runtime.jobs import Job, JobContext, Priority

CLASSES_FILE = "classes.toml"  # the shoot's own classes, in the project store (the CLI reads the format)


@dataclass
class StoredScores:
    """Every stored region score of one filter run: enough to decide again without a model."""

    run_key: str | None
    regions: dict[str, list[tuple[int, dict[str, float]]]] = field(default_factory=dict)  # image_id →
    errors: dict[str, str] = field(default_factory=dict)  # image_id → why it failed

    def decide_all(self, class_set: ClassSet) -> dict[str, Verdict]:
        """image_id → verdict under `class_set`'s thresholds (pure computation)."""
        verdicts = {image_id: Verdict(ERROR, reason=reason) for image_id, reason in self.errors.items()}
        for image_id, regions in self.regions.items():
            verdicts[image_id] = decide(regions, class_set)
        return verdicts

    @staticmethod
    def count(verdicts: dict[str, Verdict]) -> Counter:
        return Counter(v.verdict for v in verdicts.values())


def load_scores(store: ProjectStore, run_key: str | None = None) -> StoredScores:
    """The scores of `run_key` (default: the run most verdicts came from). Slow: off the UI thread."""
    entries = store.images()
    if run_key is None:
        keys = Counter(e.run_key for e in entries if e.run_key)
        run_key = keys.most_common(1)[0][0] if keys else None
    scores = StoredScores(run_key)
    if run_key is None:
        return scores
    for entry in entries:
        result = store.result(entry.image_id, run_key)
        if result is None:
            continue
        if result["status"] == ERROR:
            scores.errors[entry.image_id] = result["error"] or "unreadable"
            continue
        rows = store.region_rows(entry.image_id, run_key)
        scores.regions[entry.image_id] = [(row["idx"], json.loads(row["scores"])) for row in rows]
    return scores


def save_verdicts(store: ProjectStore, run_key: str, verdicts: dict[str, Verdict]) -> None:
    """Record re-decided verdicts (what the browser badges and the enhance batch read)."""
    for image_id, verdict in verdicts.items():
        record_verdict(store, image_id, run_key, verdict)


def load_shoot_classes(store: ProjectStore) -> ClassSet:
    """The shoot's classes if the user edited them, else the defaults."""
    path = store.root / CLASSES_FILE
    defaults = default_classes()
    if not path.is_file():
        return defaults
    try:
        return parse_classes(tomllib.loads(path.read_text(encoding="utf-8")), str(path), defaults)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError):
        return defaults


def save_shoot_classes(store: ProjectStore, class_set: ClassSet) -> Path:
    import tomli_w

    data: dict[str, Any] = {
        "uncertain_band": class_set.uncertain_band,
        "templates": list(class_set.templates),
        "other": list(class_set.other),
        "class": [
            {"name": c.name, "prompts": list(c.prompts), "threshold": c.threshold, "margin": c.margin}
            for c in class_set.classes
        ],
    }
    return atomic_write_bytes(store.root / CLASSES_FILE, tomli_w.dumps(data).encode("utf-8"))


@dataclass(frozen=True)
class FilterRun:
    run_key: str
    failed: dict[Path, str]  # images the filter could not process → why


def filter_job(
    registry_source: Any,
    store: ProjectStore,
    class_set: ClassSet,
    paths: list[Path],
    settings: Any = None,
) -> Job:
    """Run the product filter over `paths` on the engine thread; returns a `FilterRun`.

    `registry_source()` gives the model registry (shared with the canvas's SAM, so SAM loads once);
    `settings`: an engine.product_filter.FilterSettings, or None for its defaults."""

    def run(ctx: JobContext) -> FilterRun:
        from engine.filter.run import ProductFilter

        product_filter = ProductFilter(registry_source(), store, class_set, settings)
        reports = product_filter.run(paths, ctx)
        failed = {r.path: r.reason for r in reports if r.verdict == ERROR}
        return FilterRun(product_filter.run_key, failed)

    return Job(run, name="Product filter", priority=Priority.BATCH, key="review-filter")
