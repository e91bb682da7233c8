"""Depth estimation for the ControlNet depth hint: image in, 8-bit depth map out (near = bright).

Kinds (`[depth] kind = ...` in models.toml):
- `transformers`: a depth-estimation model folder (DPT, Depth Anything...) through `transformers.pipeline`.
- `midas`, `leres`, `zoe`: controlnet_aux's detectors, the preprocessors the ControlNet depth models were
  trained with. Their own `from_pretrained` unpickles with `torch.load`, so the network is built here and
  its weights come through `engine.models.checkpoints.load_state_dict` (safetensors or weights_only).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.models.checkpoints import load_state_dict
from engine.models.config import RoleSpec
from engine.models.errors import ModelError, UnsafeCheckpoint
from engine.models.locate import resolve
from engine.runtime.device import DeviceChoice

DepthEstimator = Callable[[Image.Image], Image.Image]
DETECTOR_KINDS = ("midas", "leres", "zoe")
# The files each detector's hub repo (lllyasviel/Annotators) names, when the role path is that folder.
DETECTOR_FILES = {"midas": "dpt_hybrid-midas-501f0c75.pt", "leres": "res101.pth", "zoe": "ZoeD_M12_N.pt"}


def load_depth(spec: RoleSpec, choice: DeviceChoice) -> DepthEstimator:
    kind = spec.option("kind", "transformers")
    if kind == "transformers":
        return _load_transformers_depth(spec, choice)
    if kind in DETECTOR_KINDS:
        return _load_detector(kind, spec, choice)
    raise ModelError(
        f"Model 'depth': unknown kind {kind!r}; use one of transformers, {', '.join(DETECTOR_KINDS)}."
    )


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


def build_detector_network(kind: str) -> Any:
    """The detector's torch network with random weights, exactly as controlnet_aux builds it."""
    if kind == "midas":
        from controlnet_aux.midas.midas.dpt_depth import DPTDepthModel

        return DPTDepthModel(path=None, backbone="vitb_rn50_384", non_negative=True)
    if kind == "leres":
        from controlnet_aux.leres.leres.multi_depth_model_woauxi import RelDepthModel

        return RelDepthModel(backbone="resnext101")
    from controlnet_aux.zoe.zoedepth.models.zoedepth import ZoeDepth
    from controlnet_aux.zoe.zoedepth.utils.config import get_config

    return ZoeDepth.build_from_config(get_config("zoedepth", "infer"))


def _load_detector(kind: str, spec: RoleSpec, choice: DeviceChoice) -> DepthEstimator:
    path = resolve(spec)
    if path.is_dir():
        path = path / DETECTOR_FILES[kind]
    state = _leres_state(path) if kind == "leres" and path.suffix != ".safetensors" else None
    state = state or load_state_dict(path, "depth")
    # LeReS checkpoints keep the weights under "depth_model" and were saved from DataParallel.
    state = {key.removeprefix("depth_model.").removeprefix("module."): value for key, value in state.items()}
    network = build_detector_network(kind)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError(
            f"Model 'depth': {path.name} is not a {kind} depth checkpoint: {str(error)[:300]}"
        ) from error
    network = network.to(choice.device).eval()
    return DetectorDepth(kind, network, int(spec.option("resolution", 512)))


def _leres_state(path: Path) -> dict | None:
    """LeReS's `res101.pth` nests its weights under "depth_model" beside non-tensor entries."""
    import torch

    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpoint(f"Model 'depth': refused {path}: it needs arbitrary code to load.") from error
    except (RuntimeError, EOFError, OSError, ValueError):
        return None  # let load_state_dict report it in its words
    nested = data.get("depth_model") if isinstance(data, dict) else None
    return nested if isinstance(nested, dict) else None


class DetectorDepth:
    """A controlnet_aux detector as a `DepthEstimator` (`.model` lets the registry size it)."""

    def __init__(self, kind: str, network: Any, resolution: int = 512):
        from controlnet_aux import LeresDetector, MidasDetector, ZoeDetector

        self.kind = kind
        self.model = network
        self.resolution = resolution
        if kind == "leres":
            self.detector = LeresDetector(network, None)  # no pix2pix: "boost" is off
        else:
            self.detector = (MidasDetector if kind == "midas" else ZoeDetector)(network)

    def __call__(self, image: Image.Image) -> Image.Image:
        rgb = np.asarray(image.convert("RGB"))
        depth = self.detector(
            rgb,
            detect_resolution=self.resolution,
            image_resolution=self.resolution,
            output_type="np",
        )
        gray = np.asarray(depth, dtype=np.float32)
        gray = gray[..., 0] if gray.ndim == 3 else gray
        return normalized_depth_image(gray, image.size)


def normalized_depth_image(depth: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """Scale a raw depth/disparity array to 0..255 and resize it to `size` (W, H), as an RGB image."""
    low, high = float(depth.min()), float(depth.max())
    scaled = (depth - low) / (high - low) if high > low else np.zeros_like(depth)
    gray = Image.fromarray((scaled * 255).round().astype(np.uint8), "L").resize(
        size, Image.Resampling.BICUBIC
    )
    return gray.convert("RGB")
