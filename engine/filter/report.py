"""What a filter run reports: one `ImageReport` per image (the JSON report's entry) and the `FilterRun`
a filter job returns (engine/filter/run.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.project.values import ERROR


@dataclass
class ImageReport:
    """What happened to one image (the JSON report's entry)."""

    path: Path
    rel_path: str
    image_id: str | None
    verdict: str
    classes: dict[str, int] = field(default_factory=dict)
    regions: list[dict[str, Any]] = field(default_factory=list)  # the verdict's regions
    reason: str = ""
    reused: bool = False  # decided from stored scores, no model ran
    scored: int = 0  # regions scored by CLIP (all of them, not only the verdict's)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "image_id": self.image_id,
            "verdict": self.verdict,
            "classes": {
                name: {
                    "regions": count,
                    "best_score": max(r["score"] for r in self.regions if r["class"] == name),
                }
                for name, count in self.classes.items()
            },
            "regions": self.regions,
            "error": self.reason if self.verdict == ERROR else None,
            "reason": self.reason,
            "regions_scored": self.scored,
            "reused": self.reused,
        }


@dataclass(frozen=True)
class FilterRun:
    """What a filter job returns: the run key its results are stored under, and a report per image."""

    run_key: str
    reports: list[ImageReport]

    @property
    def failed(self) -> dict[Path, str]:
        """Images the filter could not process → why."""
        return {r.path: r.reason for r in self.reports if r.verdict == ERROR}
