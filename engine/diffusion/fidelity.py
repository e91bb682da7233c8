"""Product fidelity: did an enhancement keep the product true? Original against result, inside the mask.

Figures (each from scikit-image, on the sRGB pixels the user sees):
- colour: mean and 95th percentile of CIEDE2000 (`deltaE_ciede2000` on `rgb2lab`) over the product;
- structure: SSIM on luminance, averaged over the product from the full SSIM map;
- edges: F1 of Canny edges within 2 px (a redrawn logo or label moves or loses its edges);
- shape: IoU of the silhouettes a segmenter finds before and after from the same box prompt (optional).

Only the product is judged: outside the mask the result's pixels are replaced by the original's before
any figure is taken, so a changed scene (or the feathered blend just outside the edge) never counts
against the product. The silhouette check looks at the real result, since a product that grows outward
changes pixels outside its old mask. Large regions are measured at most `MAX_SIDE` px on the long side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.diffusion.recipes import FidelityThresholds

PASS, WARN, FAIL = "pass", "warn", "fail"
GRADES = (PASS, WARN, FAIL)
MAX_SIDE = 1024
EDGE_TOLERANCE = 2.0  # px: an edge that moved this little is the same edge
EDGE_INSET = 4  # px inside the mask's edge where edge agreement starts
MIN_EDGE_PIXELS = 20  # fewer Canny edge pixels on the original product: no detail to compare
# A segmenter on one image: (HxWx3 uint8, box (x0, y0, x1, y1)) → HxW bool silhouette.
MaskPredictor = Callable[[np.ndarray, tuple[int, int, int, int]], np.ndarray]


@dataclass
class FidelityReport:
    """The figures of one variant and its grade. A figure is None when it could not be measured (no
    edges on the product, no segmenter given); `reasons` says which figures set a warn or fail."""

    grade: str
    delta_e_mean: float
    delta_e_p95: float
    ssim: float
    edge_f1: float | None
    shape_iou: float | None = None
    class_name: str = ""
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready figures (rounded for people; the grade used the exact ones)."""
        data = asdict(self)
        for key in ("delta_e_mean", "delta_e_p95", "ssim", "edge_f1", "shape_iou"):
            if data[key] is not None:
                data[key] = round(float(data[key]), 4)
        return data

    def summary(self) -> str:
        """One line for a list or a terminal: `pass  ΔE 0.8 / p95 2.1  SSIM 0.97  edges 0.91`."""
        parts = [f"{self.grade:<4}  ΔE {self.delta_e_mean:.1f} / p95 {self.delta_e_p95:.1f}"]
        parts.append(f"SSIM {self.ssim:.2f}")
        if self.edge_f1 is not None:
            parts.append(f"edges {self.edge_f1:.2f}")
        if self.shape_iou is not None:
            parts.append(f"shape {self.shape_iou:.2f}")
        return "  ".join(parts)

    @property
    def score(self) -> tuple[int, float]:
        """A sort key, best first: grade, then a blend of the figures (higher is truer)."""
        figures = [1.0 - min(self.delta_e_mean / 10.0, 1.0), self.ssim]
        figures += [v for v in (self.edge_f1, self.shape_iou) if v is not None]
        return GRADES.index(self.grade), -float(np.mean(figures))


def measure_fidelity(
    original: np.ndarray,
    result: np.ndarray,
    mask: np.ndarray,
    thresholds: FidelityThresholds | None = None,
    predictor: MaskPredictor | None = None,
    class_name: str = "",
    max_side: int = MAX_SIDE,
) -> FidelityReport:
    """Grade `result` against `original` (both HxWx3 uint8, same size) inside `mask` (HxW bool, or
    uint8 where ≥ 128 is the product)."""
    if original.shape != result.shape or original.shape[:2] != mask.shape[:2]:
        raise ValueError(
            f"fidelity: image sizes differ ({original.shape}, {result.shape}, mask {mask.shape})"
        )
    binary = mask if mask.dtype == bool else mask >= 128
    if not binary.any():
        raise ValueError("fidelity: the mask is empty")
    shape_iou = None
    if predictor is not None:
        shape_iou = silhouette_iou(original, result, binary, predictor)
    original, result, binary = _fit(original, result, binary, max_side)
    judged = np.where(binary[..., None], result, original)  # outside the product: not ours to judge
    mean, p95 = colour_difference(original, judged, binary)
    report = FidelityReport(
        grade=PASS,
        delta_e_mean=mean,
        delta_e_p95=p95,
        ssim=masked_ssim(original, judged, binary),
        edge_f1=edge_agreement(original, judged, binary),
        shape_iou=shape_iou,
        class_name=class_name,
    )
    return grade(report, thresholds or FidelityThresholds())


def grade(report: FidelityReport, thresholds: FidelityThresholds) -> FidelityReport:
    """Set `report.grade` to the worst grade of its figures, and say which figures set it."""
    checks = [
        ("ΔE mean", report.delta_e_mean, thresholds.delta_e_mean, False),
        ("ΔE p95", report.delta_e_p95, thresholds.delta_e_p95, False),
        ("SSIM", report.ssim, thresholds.ssim, True),
        ("edges", report.edge_f1, thresholds.edge_f1, True),
        ("shape", report.shape_iou, thresholds.shape_iou, True),
    ]
    worst, reasons = 0, []
    for name, value, (pass_at, warn_at), higher_is_better in checks:
        if value is None:
            continue
        sign = 1.0 if higher_is_better else -1.0
        level = 0 if sign * value >= sign * pass_at else 1 if sign * value >= sign * warn_at else 2
        if level:
            limit = pass_at if level == 1 else warn_at
            reasons.append(f"{name} {value:.2f} {'<' if higher_is_better else '>'} {limit:g}")
        worst = max(worst, level)
    report.grade, report.reasons = GRADES[worst], reasons
    return report


def colour_difference(original: np.ndarray, result: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Mean and 95th percentile CIEDE2000 over the mask's pixels (sRGB → CIE Lab, D65)."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    before = rgb2lab(original[mask].reshape(-1, 1, 3))
    after = rgb2lab(result[mask].reshape(-1, 1, 3))
    delta = deltaE_ciede2000(before, after).ravel()
    return float(delta.mean()), float(np.percentile(delta, 95))


def masked_ssim(original: np.ndarray, result: np.ndarray, mask: np.ndarray) -> float:
    """SSIM on luminance (Wang et al.'s Gaussian window), averaged over the mask from the full map."""
    from skimage.metrics import structural_similarity

    if min(mask.shape) < 7:
        return 1.0 if np.array_equal(original, result) else 0.0  # too small for a window
    _, ssim_map = structural_similarity(
        _luminance(original),
        _luminance(result),
        data_range=1.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        full=True,
    )
    return float(ssim_map[mask].mean())


def edge_agreement(
    original: np.ndarray, result: np.ndarray, mask: np.ndarray, tolerance: float = EDGE_TOLERANCE
) -> float | None:
    """F1 of the result's Canny edges against the original's, inside the mask, an edge counting as
    matched when one of the other image's lies within `tolerance` px. None when the original product has
    too few edges to say (a plain surface)."""
    from scipy.ndimage import binary_erosion, distance_transform_edt
    from skimage.feature import canny

    # The detail inside the product, not its outline (the shape check's job): a long silhouette would
    # otherwise outweigh a small redrawn label.
    inside = binary_erosion(mask, iterations=EDGE_INSET)
    inside = inside if inside.any() else mask
    before = canny(_luminance(original), sigma=1.0) & inside
    after = canny(_luminance(result), sigma=1.0) & inside
    if before.sum() < MIN_EDGE_PIXELS:
        return None
    if not after.any():
        return 0.0
    near_before = distance_transform_edt(~before) <= tolerance
    near_after = distance_transform_edt(~after) <= tolerance
    precision = float((after & near_before).sum() / after.sum())
    recall = float((before & near_after).sum() / before.sum())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def silhouette_iou(
    original: np.ndarray, result: np.ndarray, mask: np.ndarray, predictor: MaskPredictor
) -> float | None:
    """IoU of the silhouettes `predictor` finds on the original and on the result from the same box (the
    mask's bounding box): the segmenter's own bias cancels out, a changed outline does not."""
    rows, cols = np.nonzero(mask)
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    before = np.asarray(predictor(original, box), dtype=bool)
    after = np.asarray(predictor(result, box), dtype=bool)
    union = (before | after).sum()
    return None if union == 0 else float((before & after).sum() / union)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2gray

    return rgb2gray(rgb)  # Rec. 709 luminance of the sRGB values, 0..1


def _fit(original: np.ndarray, result: np.ndarray, mask: np.ndarray, max_side: int):
    height, width = mask.shape
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return original, result, mask
    import cv2

    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    shrink = [cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in (original, result)]
    small_mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
    if not small_mask.any():
        small_mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return shrink[0], shrink[1], small_mask


def sam_box_predictor(registry: Any) -> MaskPredictor:
    """The `sam` role as a `MaskPredictor`: one embedding per image (no cache: results are new pixels),
    then SAM's single best mask for the box."""
    import hashlib

    from engine.segment.session import SamSession

    session = SamSession(registry, cache=None)

    def predict(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        rgb = np.ascontiguousarray(rgb)
        session.set_image(hashlib.sha1(rgb.tobytes()).hexdigest(), rgb)
        masks, _, _ = session.predict(box=list(box), multimask=False)
        return masks[0]

    return predict


FIDELITY_TEXT_KEY = "shootstudio:fidelity"  # the PNG text chunk that carries a variant's figures


def fidelity_text(report: FidelityReport | None) -> dict[str, str]:
    """The output file's extra text chunks for `report` (JSON under FIDELITY_TEXT_KEY), or none."""
    import json

    return {} if report is None else {FIDELITY_TEXT_KEY: json.dumps(report.to_dict(), ensure_ascii=False)}
