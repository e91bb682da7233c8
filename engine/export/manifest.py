"""The export's manifest: one row per selected image (exported, skipped and why), as CSV for a spreadsheet
and JSON for scripts."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field

COLUMNS = (
    "file", "status", "verdict", "classes", "scores", "flag", "rating",
    "mask", "cutout", "labelme", "problems",
)  # fmt: skip


@dataclass
class ManifestRow:
    file: str  # the original, relative to the shoot folder
    status: str  # exported | no mask | preflight failed | unreadable
    verdict: str | None = None
    classes: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)  # best score per class among its instances
    flag: str | None = None
    rating: int | None = None
    mask: str | None = None  # written files, relative to the export folder
    cutout: str | None = None
    labelme: str | None = None
    problems: list[str] = field(default_factory=list)


def manifest_json(rows: list[ManifestRow]) -> bytes:
    return json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False).encode("utf-8")


def manifest_csv(rows: list[ManifestRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows:
        values = asdict(row)
        values["classes"] = ";".join(row.classes)
        values["scores"] = ";".join(f"{name}={score:.3f}" for name, score in row.scores.items())
        values["problems"] = "; ".join(row.problems)
        writer.writerow(["" if values[c] is None else values[c] for c in COLUMNS])
    return buffer.getvalue().encode("utf-8")
