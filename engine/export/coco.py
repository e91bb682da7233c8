"""COCO instance segmentation (the format pycocotools, CVAT, Detectron2 and MMDetection read): one
annotation per product instance with its RLE mask (encoded by pycocotools, never by hand), box and area
in ORIGINAL-size pixel coordinates, the product class as category and the CLIP score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.export.masks import Instance


@dataclass
class CocoImage:
    file_name: str  # the original, relative to the shoot folder
    width: int
    height: int
    instances: list[Instance]
    mask_file: str | None = None  # the exported PNG mask, relative to the export folder


def rle(mask: np.ndarray) -> dict:
    """Compressed RLE of an HxW bool mask, JSON-ready (counts as text)."""
    from pycocotools import mask as mask_utils

    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def coco_document(images: list[CocoImage], description: str = "ShootStudio export") -> dict:
    from pycocotools import mask as mask_utils

    names = sorted({instance.class_name for image in images for instance in image.instances})
    category_ids = {name: index + 1 for index, name in enumerate(names)}
    document: dict = {
        "info": {"description": description, "version": "1.0"},
        "licenses": [],
        "images": [],
        "annotations": [],
        "categories": [{"id": category_ids[n], "name": n, "supercategory": "product"} for n in names],
    }
    for image_id, image in enumerate(images, start=1):
        entry = {"id": image_id, "file_name": image.file_name, "width": image.width, "height": image.height}
        if image.mask_file:
            entry["mask_file"] = image.mask_file
        document["images"].append(entry)
        for instance in image.instances:
            segmentation = rle(instance.mask)
            coded = {**segmentation, "counts": segmentation["counts"].encode("ascii")}
            document["annotations"].append(
                {
                    "id": len(document["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": category_ids[instance.class_name],
                    "segmentation": segmentation,
                    "area": int(mask_utils.area(coded)),
                    "bbox": [float(v) for v in mask_utils.toBbox(coded)],
                    "iscrowd": 0,
                    "score": round(float(instance.score), 4),
                }
            )
    return document
