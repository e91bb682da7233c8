"""One export: for each selected image, its mask at the original size (`IMG_0042_mask.png`), its cut-out
as the preset says (after the preflight passes), its LabelMe JSON; then one COCO file and the manifest.

Images without a mask, unreadable ones and preflight failures are listed in the report and the manifest
and skipped; a full disk stops the export with a clear error and no partial file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from engine.export.coco import CocoImage, coco_document
from engine.export.files import ExportError, ExportWriter, check_destination, render_name
from engine.export.labelme import labelme_document
from engine.export.manifest import ManifestRow, manifest_csv, manifest_json
from engine.export.masks import image_masks
from engine.export.preflight import check
from engine.export.presets import ExportPreset
from engine.export.render import encode, render, srgb_icc, to_srgb
from engine.imaging.read import ImageReadError, read_image
from engine.project.store import ImageEntry, ProjectStore
from engine.runtime.jobs import JobContext

# (rgb HxWx3 uint8, mask HxW bool, band px) -> cut-out alpha HxW uint8
SoftAlpha = Callable[[np.ndarray, np.ndarray, int], np.ndarray]

EXPORTED, NO_MASK, PREFLIGHT_FAILED, UNREADABLE = "exported", "no mask", "preflight failed", "unreadable"


@dataclass
class ExportReport:
    out_dir: Path
    rows: list[ManifestRow] = field(default_factory=list)
    coco: Path | None = None
    manifest_csv: Path | None = None
    manifest_json: Path | None = None
    written: list[Path] = field(default_factory=list)
    checked_only: bool = False  # a preflight run: nothing but the report

    def count(self, status: str) -> int:
        return sum(row.status == status for row in self.rows)

    def summary(self) -> str:
        parts = [
            f"{self.count(EXPORTED)} exported" if not self.checked_only else f"{self.count(EXPORTED)} pass"
        ]
        for status in (NO_MASK, PREFLIGHT_FAILED, UNREADABLE):
            if self.count(status):
                parts.append(f"{self.count(status)} {status}")
        return ", ".join(parts) + ("" if self.checked_only else f" → {self.out_dir}")


def run_export(
    store: ProjectStore,
    entries: list[ImageEntry],
    out_dir: Path,
    preset: ExportPreset,
    ctx: JobContext | None = None,
    *,
    preflight_only: bool = False,
    soft_alpha: SoftAlpha | None = None,
) -> ExportReport:
    """`soft_alpha(rgb, mask, band)` gives matted cut-out alpha when the preset asks for soft edges."""
    out = check_destination(out_dir, store.folder)
    preset.validate()
    if preset.soft_edges and preset.cutouts and soft_alpha is None:
        raise ExportError(f"Preset {preset.name!r} wants soft edges: that needs the matting model.")
    writer = ExportWriter(out)
    report = ExportReport(out, checked_only=preflight_only)
    coco_images: list[CocoImage] = []
    for index, entry in enumerate(entries):
        if ctx is not None:
            ctx.check_cancelled()
            ctx.progress(index, len(entries), entry.rel_path)
        row, coco_image = _export_one(store, entry, index + 1, preset, writer, preflight_only, soft_alpha)
        report.rows.append(row)
        if coco_image is not None:
            coco_images.append(coco_image)
    if not preflight_only:
        if preset.coco and coco_images:
            data = json.dumps(coco_document(coco_images)).encode("utf-8")
            report.coco = writer.write_bytes("annotations_coco.json", data)
        report.manifest_csv = writer.write_bytes("manifest.csv", manifest_csv(report.rows))
        report.manifest_json = writer.write_bytes("manifest.json", manifest_json(report.rows))
    report.written = list(writer.written)
    if ctx is not None:
        ctx.progress(len(entries), len(entries), report.summary())
    return report


def _export_one(
    store: ProjectStore,
    entry: ImageEntry,
    index: int,
    preset: ExportPreset,
    writer: ExportWriter,
    preflight_only: bool,
    soft_alpha: SoftAlpha | None = None,
) -> tuple[ManifestRow, CocoImage | None]:
    row = ManifestRow(
        entry.rel_path,
        EXPORTED,
        entry.verdict,
        dict(entry.classes),
        flag=entry.flag,
        rating=entry.rating,
    )
    try:
        loaded = read_image(entry.path)  # upright, as the user sees it
    except (ImageReadError, OSError) as error:
        row.status, row.problems = UNREADABLE, [str(error)]
        return row, None
    width, height = loaded.size
    masks = image_masks(store, entry, (width, height))
    if masks is None:
        row.status, row.problems = NO_MASK, ["run the filter, or draw a mask in review"]
        return row, None
    for instance in masks.instances:
        row.scores[instance.class_name] = max(
            row.scores.get(instance.class_name, 0.0), round(instance.score, 4)
        )
    stem = Path(entry.rel_path).stem
    class_name = masks.instances[0].class_name if masks.instances else "product"
    cutout_bytes = None
    if preset.cutouts:
        rgb = to_srgb(loaded.rgb, loaded.icc_profile) if preset.srgb else loaded.rgb
        alpha = masks.values
        if preset.soft_edges:
            alpha = soft_alpha(loaded.rgb, masks.values >= 128, preset.soft_edges)
        rendered = render(rgb, alpha, preset)
        if preset.preflight.active:
            row.problems = check(rendered, preset.preflight, preset.background_rgb() or (255, 255, 255))
            if row.problems:
                row.status = PREFLIGHT_FAILED
                return row, None
        if not preflight_only:
            icc = srgb_icc() if preset.srgb else loaded.icc_profile
            cutout_bytes = encode(rendered, preset, icc)
    if preflight_only:
        return row, None
    mask_file = None
    if preset.masks:
        mask_image = Image.fromarray(np.ascontiguousarray(masks.values), "L")
        mask_path = writer.write(f"{stem}_mask.png", lambda handle: mask_image.save(handle, format="PNG"))
        mask_file = row.mask = mask_path.name
    if cutout_bytes is not None:
        name = render_name(preset.naming, stem=stem, index=index, **{"class": class_name}) + preset.suffix
        row.cutout = writer.write_bytes(name, cutout_bytes).name
    if preset.labelme:
        relative = os.path.relpath(entry.path, writer.out_dir)
        document = labelme_document(relative, width, height, masks.instances)
        data = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
        row.labelme = writer.write_bytes(f"{stem}.json", data).name
    return row, CocoImage(entry.rel_path, width, height, masks.instances, mask_file)
