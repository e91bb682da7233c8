"""Depth estimation for the ControlNet depth hint: image in, 8-bit depth map out (near = bright)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from engine.device import DeviceChoice
from engine.models.config import RoleSpec
from engine.models.errors import ModelError
from engine.models.locate import resolve

DepthEstimator = Callable[[Image.Image], Image.Image]


def load_depth(spec: RoleSpec, choice: DeviceChoice) -> DepthEstimator:
    kind = spec.option("kind", "transformers")
    if kind == "transformers":
        return _load_transformers_depth(spec, choice)
    raise ModelError(f"Model 'depth': unknown kind {kind!r}; use `transformers`.")


def _load_transformers_depth(spec: RoleSpec, choice: DeviceChoice) -> DepthEstimator:
    from transformers import pipeline

    folder = resolve(spec, want_dir=True)
    try:
        estimator = pipeline(
            "depth-estimation", model=str(folder), device=choice.device, local_files_only=True
        )
    except (OSError, ValueError) as error:
        raise ModelError(f"Model 'depth': {folder} is not a transformers depth model: {error}") from error

    return TransformersDepth(estimator)


class TransformersDepth:
    """A transformers depth-estimation pipeline as a `DepthEstimator` (`.model` lets the registry size it)."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.model = estimator.model

    def __call__(self, image: Image.Image) -> Image.Image:
        predicted = self.estimator(image.convert("RGB"))["predicted_depth"]
        depth = predicted.squeeze().float().cpu().numpy()
        return normalized_depth_image(depth, image.size)


def normalized_depth_image(depth: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """Scale a raw depth/disparity array to 0..255 and resize it to `size` (W, H), as an RGB image."""
    low, high = float(depth.min()), float(depth.max())
    scaled = (depth - low) / (high - low) if high > low else np.zeros_like(depth)
    gray = Image.fromarray((scaled * 255).round().astype(np.uint8), "L").resize(
        size, Image.Resampling.BICUBIC
    )
    return gray.convert("RGB")
