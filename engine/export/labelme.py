"""LabelMe JSON per image (X-AnyLabeling and CVAT's LabelMe import open it beside the image): each product
instance as polygons traced by OpenCV along its mask's outer edge, at the original size."""

from __future__ import annotations

import numpy as np

from engine.export.masks import Instance

LABELME_VERSION = "5.4.1"


def polygons(mask: np.ndarray) -> list[list[list[float]]]:
    """Outer contours of an HxW bool mask as [[x, y], ...] through the edge pixels' centres (3+ points)."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [[[float(x), float(y)] for x, y in contour[:, 0, :]] for contour in contours if len(contour) >= 3]


def labelme_document(image_path: str, width: int, height: int, instances: list[Instance]) -> dict:
    """`image_path`: the original, relative to where the JSON is written."""
    shapes = []
    for group, instance in enumerate(instances, start=1):
        for points in polygons(instance.mask):
            shapes.append(
                {
                    "label": instance.class_name,
                    "score": round(float(instance.score), 4),
                    "points": points,
                    "group_id": group,
                    "description": "",
                    "shape_type": "polygon",
                    "flags": {},
                    "mask": None,
                }
            )
    return {
        "version": LABELME_VERSION,
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": height,
        "imageWidth": width,
    }
