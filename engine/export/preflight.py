"""Preflight: does an output meet the preset's rules (product fill, margins, background colour, source
size)? Each failure is a sentence for the list the user sees; nothing failing is written."""

from __future__ import annotations

import numpy as np

from engine.export.presets import Preflight
from engine.export.render import Rendered, product_box

_MAX_SAMPLES = 200_000  # background pixels measured (a random subset of larger backgrounds)


def background_delta_e(rgb: np.ndarray, outside: np.ndarray, target: tuple[int, int, int]) -> float | None:
    """Mean CIEDE2000 between the pixels where `outside` is True and `target` (sRGB), or None if none."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    pixels = rgb[outside]
    if len(pixels) == 0:
        return None
    if len(pixels) > _MAX_SAMPLES:
        pixels = pixels[np.random.default_rng(0).choice(len(pixels), _MAX_SAMPLES, replace=False)]
    lab = rgb2lab(pixels[None].astype(np.float64) / 255.0)[0]
    reference = rgb2lab(np.array([[target]], np.float64) / 255.0)[0, 0]
    return float(deltaE_ciede2000(lab, np.broadcast_to(reference, lab.shape)).mean())


def check(rendered: Rendered, rules: Preflight, target: tuple[int, int, int]) -> list[str]:
    """The rules `rendered` breaks, in words (empty: it passes)."""
    problems: list[str] = []
    alpha = rendered.alpha
    height, width = alpha.shape
    box = product_box(alpha >= 128)
    if box is None:
        return ["no product in the frame"]
    left, top, right, bottom = box
    if rules.fill is not None:
        fill = (right - left) * (bottom - top) / (width * height)
        low, high = rules.fill
        if not low <= fill <= high:
            problems.append(f"product fills {fill:.0%} of the frame (wanted {low:.0%}–{high:.0%})")
    if rules.min_margin is not None:
        margin = min(left, top, width - right, height - bottom)
        if margin < rules.min_margin:
            problems.append(f"margin {margin} px (wanted at least {rules.min_margin} px)")
    if rules.background_delta_e is not None:
        rgb = np.asarray(rendered.image.convert("RGB"))
        outside = (alpha == 0) if rendered.image.mode != "RGBA" else np.zeros_like(alpha, bool)
        delta = background_delta_e(rgb, outside, target)
        if delta is not None and delta > rules.background_delta_e:
            problems.append(
                f"background ΔE {delta:.1f} from the target (wanted at most {rules.background_delta_e:g})"
            )
    if rules.min_size is not None and rendered.product_long_side < rules.min_size:
        what = "product" if rendered.trimmed else "image"  # untrimmed, the whole frame is what is sized
        problems.append(
            f"{what} {rendered.product_long_side} px on its long side (wanted at least {rules.min_size} px)"
        )
    return problems
