"""Deciding from stored scores, without a model: the one re-decide path of the CLI, the filter run and
the review desk's threshold slider.

```python
scores = StoredScores.load(store, run_key)        # every stored region score of one filter run
verdicts = scores.decide_all(class_set)           # pure computation: cheap enough while a slider moves
save_verdicts(store, run_key, verdicts)           # what the browser badges and the enhance batch read
redecide(store, class_set, run_key)               # the three together
```
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.filter.classes import ClassSet
from engine.filter.verdict import Verdict, decide, record_verdict
from engine.project.store import ProjectStore
from engine.project.values import ERROR


@dataclass
class StoredScores:
    """Every stored region score of one filter run: enough to decide again without a model."""

    run_key: str | None
    regions: dict[str, list[tuple[int, dict[str, float]]]] = field(default_factory=dict)  # image_id →
    errors: dict[str, str] = field(default_factory=dict)  # image_id → why it failed

    @classmethod
    def load(
        cls, store: ProjectStore, run_key: str | None = None, image_ids: Iterable[str] | None = None
    ) -> StoredScores:
        """The scores of `run_key` (default: the run most verdicts came from) for `image_ids` (default:
        every image of the store). Reads the database: off the UI thread."""
        if image_ids is None:
            entries = store.images()
            image_ids = [entry.image_id for entry in entries]
            if run_key is None:
                keys = Counter(entry.run_key for entry in entries if entry.run_key)
                run_key = keys.most_common(1)[0][0] if keys else None
        scores = cls(run_key)
        if run_key is None:
            return scores
        for image_id in image_ids:
            result = store.result(image_id, run_key)
            if result is None:
                continue
            if result["status"] == ERROR:
                scores.errors[image_id] = result["error"] or "unreadable"
                continue
            rows = store.region_rows(image_id, run_key)
            scores.regions[image_id] = [(row["idx"], json.loads(row["scores"])) for row in rows]
        return scores

    def scored_classes(self) -> set[str]:
        """The names that have a stored probability (a class set with others needs a new filter run)."""
        return {name for regions in self.regions.values() for _, scores in regions for name in scores}

    def decide_all(self, class_set: ClassSet) -> dict[str, Verdict]:
        """image_id → verdict under `class_set`'s thresholds (pure computation)."""
        verdicts = {image_id: Verdict(ERROR, reason=reason) for image_id, reason in self.errors.items()}
        for image_id, regions in self.regions.items():
            verdicts[image_id] = decide(regions, class_set)
        return verdicts

    @staticmethod
    def count(verdicts: dict[str, Verdict]) -> Counter:
        return Counter(v.verdict for v in verdicts.values())


def save_verdicts(store: ProjectStore, run_key: str, verdicts: dict[str, Verdict]) -> None:
    """Record re-decided verdicts (what the browser badges and the enhance batch read)."""
    for image_id, verdict in verdicts.items():
        record_verdict(store, image_id, run_key, verdict)


def redecide(
    store: ProjectStore, class_set: ClassSet, run_key: str, image_ids: Iterable[str] | None = None
) -> dict[str, Verdict]:
    """Apply (new) thresholds to the stored results of `run_key` and record them; runs no model.
    image_id → verdict, for the images that have a result of that run."""
    verdicts = StoredScores.load(store, run_key, image_ids).decide_all(class_set)
    save_verdicts(store, run_key, verdicts)
    return verdicts
