"""A product cut-out as a preset asks for it: sRGB from the original's ICC profile, trimmed to the product
with padding, scaled to a long edge, on a square canvas, transparent or on a background colour, or the
shot as it is ("keep"). Pixels are the original's, upright; the mask is the review mask at full size."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

from engine.export.files import ExportError
from engine.export.presets import ExportPreset


@dataclass
class Rendered:
    image: Image.Image  # RGB or RGBA, the output as it will be written
    alpha: np.ndarray  # HxW uint8: the product in the output frame (its mask, moved and scaled)
    product_long_side: int  # px of the product's (or the frame's, untrimmed) long side in the original
    trimmed: bool = False


@lru_cache(maxsize=1)
def srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def srgb_icc() -> bytes:
    return srgb_profile().tobytes()


def to_srgb(rgb: np.ndarray, icc: bytes | None) -> np.ndarray:
    """HxWx3 uint8 in the original's colour space → sRGB (relative colorimetric, as Lightroom exports)."""
    if not icc:
        return rgb  # untagged pixels are taken as sRGB already
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            Image.fromarray(rgb, "RGB"), source, srgb_profile(), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError) as error:
        raise ExportError(
            f"The image's embedded colour profile cannot be converted to sRGB: {error}"
        ) from error
    return np.asarray(converted)


def product_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of every pixel with any product coverage, or None."""
    ys, xs = np.nonzero(alpha)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def render(rgb: np.ndarray, alpha: np.ndarray, preset: ExportPreset) -> Rendered:
    """`rgb` HxWx3 uint8 (sRGB already if wanted) and `alpha` HxW uint8 at the same size → the output."""
    height, width = alpha.shape
    keep = preset.background == "keep"
    box = product_box(alpha) if preset.trim and not keep else None
    if box is not None:
        left, top, right, bottom = box
        rgb, alpha = rgb[top:bottom, left:right], alpha[top:bottom, left:right]
    crop_h, crop_w = alpha.shape
    long_side = max(crop_w, crop_h)
    padding = 0 if keep else preset.padding
    if preset.long_edge:
        scale = (preset.long_edge - 2 * padding) / long_side  # the padded output's long edge
        size = (max(1, round(crop_w * scale)), max(1, round(crop_h * scale)))
        if size != (crop_w, crop_h):
            rgb = np.asarray(
                Image.fromarray(np.ascontiguousarray(rgb), "RGB").resize(size, Image.Resampling.LANCZOS)
            )
            alpha = np.asarray(
                Image.fromarray(np.ascontiguousarray(alpha), "L").resize(size, Image.Resampling.BILINEAR)
            )
    out_h, out_w = alpha.shape
    canvas_w, canvas_h = out_w + 2 * padding, out_h + 2 * padding
    if preset.square and not keep:
        canvas_w = canvas_h = max(canvas_w, canvas_h)
    x0, y0 = (canvas_w - out_w) // 2, (canvas_h - out_h) // 2
    placed = np.zeros((canvas_h, canvas_w), np.uint8)
    placed[y0 : y0 + out_h, x0 : x0 + out_w] = alpha
    if keep:
        image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    else:
        colour = np.zeros((canvas_h, canvas_w, 3), np.uint8)
        colour[y0 : y0 + out_h, x0 : x0 + out_w] = rgb
        background = preset.background_rgb()
        if background is None:
            image = Image.fromarray(np.dstack([colour, placed]), "RGBA")
        else:
            weight = placed[..., None].astype(np.float32) / 255.0
            mixed = colour * weight + np.array(background, np.float32) * (1.0 - weight)
            image = Image.fromarray(np.clip(mixed + 0.5, 0, 255).astype(np.uint8), "RGB")
    return Rendered(image, placed, long_side if box is not None else max(width, height), box is not None)


def encode(rendered: Rendered, preset: ExportPreset, icc: bytes | None) -> bytes:
    """The output file's bytes in the preset's format (with `icc` embedded when given)."""
    options: dict = {"icc_profile": icc} if icc else {}
    if preset.format == "JPEG":
        options |= {
            "quality": preset.quality,
            "subsampling": 0 if preset.quality >= 90 else 2,
            "optimize": True,
        }
    elif preset.format == "WEBP":
        options |= {"quality": preset.quality, "exact": True}  # exact: keep colour under transparent pixels
    image = rendered.image
    if preset.format == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=preset.format, **options)
    return buffer.getvalue()
