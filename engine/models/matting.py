"""The `matting` role: ViTMatte (transformers), image + trimap in, alpha out.

A transformers folder holding `VitMatteForImageMatting` weights and its `VitMatteImageProcessor` config
(e.g. hustvl/vitmatte-small-composition-1k). The caller crops and scales (engine/project/matting.py);
this module only runs the network on what it is given.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.models.config import RoleSpec
from engine.models.errors import ModelError
from engine.models.locate import resolve
from engine.runtime.device import DeviceChoice


class Matting:
    """`matting(rgb, trimap)`: rgb HxWx3 uint8, trimap HxW uint8 (0 background, 128 unknown, 255
    foreground) → alpha HxW float32 in 0..1. `.model` lets the registry size it."""

    def __init__(self, model, processor, device: torch.device):
        self.model, self.processor, self.device = model, processor, device

    @torch.inference_mode()
    def __call__(self, rgb: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        if rgb.shape[:2] != trimap.shape[:2] or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"matting expects HxWx3 rgb and HxW trimap, got {rgb.shape} and {trimap.shape}")
        inputs = self.processor(images=rgb, trimaps=trimap, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, self.model.dtype)
        alphas = self.model(pixel_values=pixels).alphas
        height, width = trimap.shape
        # The processor pads bottom and right to a multiple of 32: the alpha of the input is top-left.
        return alphas[0, 0, :height, :width].float().cpu().numpy().clip(0.0, 1.0)


def load_matting(spec: RoleSpec, choice: DeviceChoice) -> Matting:
    from transformers import VitMatteForImageMatting, VitMatteImageProcessor

    folder = resolve(spec, want_dir=True)
    try:
        model = VitMatteForImageMatting.from_pretrained(str(folder), local_files_only=True)
        processor = VitMatteImageProcessor.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as error:
        raise ModelError(f"Model 'matting': {folder} is not a ViTMatte model folder: {error}") from error
    return Matting(model.to(choice.device).eval(), processor, choice.device)
