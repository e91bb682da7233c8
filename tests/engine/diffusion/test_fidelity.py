"""Product fidelity on synthetic edits of known size: colour, structure, edges, silhouette."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage.color import deltaE_ciede2000, lab2rgb, rgb2lab

from engine.diffusion.fidelity import FAIL, PASS, WARN, grade, measure_fidelity
from engine.diffusion.recipes import DEFAULT_FIDELITY, EnhanceRecipe, FidelityThresholds

SIZE = 256


def product_shot() -> tuple[np.ndarray, np.ndarray]:
    """A textured round product with a printed label on a plain grey background, and its mask."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    mask = (yy - 128) ** 2 + (xx - 128) ** 2 < 100**2
    image = np.full((SIZE, SIZE, 3), (205, 205, 210), np.uint8)
    texture = np.stack(
        [150 + 30 * np.sin(xx / 6), 70 + 20 * np.cos(yy / 7), 45 + 10 * np.sin((xx + yy) / 9)], -1
    )
    image[mask] = texture[mask].astype(np.uint8)
    return with_text(image, "LOGO"), mask


def with_text(image: np.ndarray, text: str, at=(68, 104), size=44) -> np.ndarray:
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((58, 98, 198, 158), fill=(235, 230, 220))
    draw.text(at, text, fill=(20, 20, 20), font_size=size)
    return np.asarray(canvas).copy()


def hue_rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    lab = rgb2lab(image)
    turn = np.deg2rad(degrees)
    a, b = lab[..., 1].copy(), lab[..., 2].copy()
    lab[..., 1], lab[..., 2] = a * np.cos(turn) - b * np.sin(turn), a * np.sin(turn) + b * np.cos(turn)
    return (np.clip(lab2rgb(lab), 0, 1) * 255).round().astype(np.uint8)


def test_an_unchanged_result_passes_with_no_colour_difference_and_full_ssim():
    image, mask = product_shot()
    report = measure_fidelity(image, image.copy(), mask)
    assert report.grade == PASS and report.reasons == []
    assert report.delta_e_mean == 0.0 and report.delta_e_p95 == 0.0
    assert report.ssim == pytest.approx(1.0)
    assert report.edge_f1 == pytest.approx(1.0)


def test_a_hue_shift_of_delta_e_5_inside_the_mask_is_measured_and_graded():
    image, mask = product_shot()
    shifted = image.copy()
    shifted[mask] = hue_rotated(image, 11.5)[mask]
    # The edit's size, measured independently over the product's pixels.
    truth = deltaE_ciede2000(rgb2lab(image[mask][None]), rgb2lab(shifted[mask][None])).mean()
    assert 4.5 < truth < 5.5
    report = measure_fidelity(image, shifted, mask)
    assert report.delta_e_mean == pytest.approx(truth, rel=1e-6)
    assert report.delta_e_p95 >= report.delta_e_mean
    assert report.grade == FAIL and any(r.startswith("ΔE mean") for r in report.reasons)
    assert report.ssim > 0.95  # the colour moved, not the structure
    # A smaller shift (ΔE ≈ 3) is a warning under the same default thresholds.
    milder = image.copy()
    milder[mask] = hue_rotated(image, 7.0)[mask]
    assert measure_fidelity(image, milder, mask).grade == WARN


def test_a_redrawn_text_patch_lowers_edge_agreement():
    image, mask = product_shot()
    # What a diffusion model does to small print: the label is there, its letters are not the same.
    redrawn = with_text(image, "Lugo", at=(72, 108), size=40)
    changed = measure_fidelity(image, redrawn, mask)
    assert changed.edge_f1 < 0.78 < DEFAULT_FIDELITY.edge_f1[0]
    assert changed.grade in (WARN, FAIL) and any(r.startswith("edges") for r in changed.reasons)
    # Redrawing the same word in the same place keeps the edges: the figure is about the print's shape.
    assert measure_fidelity(image, with_text(image, "LOGO"), mask).edge_f1 == pytest.approx(1.0)


def test_a_change_only_outside_the_mask_is_not_blamed_on_the_product():
    image, mask = product_shot()
    new_scene = np.random.default_rng(0).integers(0, 256, image.shape, dtype=np.uint8)
    result = np.where(mask[..., None], image, new_scene)
    report = measure_fidelity(image, result, mask)
    assert report.grade == PASS
    assert report.delta_e_mean == 0.0 and report.ssim == pytest.approx(1.0)
    assert report.edge_f1 == pytest.approx(1.0)


def test_a_changed_silhouette_fails_the_shape_check():
    image, mask = product_shot()

    def darker_than_background(rgb: np.ndarray, box) -> np.ndarray:
        return rgb.mean(axis=2) < 190  # a stand-in segmenter: the product is darker than the scene

    grown = image.copy()
    grown[:, 220:250] = (120, 60, 40)  # the product now reaches out to the right
    assert measure_fidelity(image, image, mask, predictor=darker_than_background).shape_iou == 1.0
    report = measure_fidelity(image, grown, mask, predictor=darker_than_background)
    assert report.shape_iou < 0.9
    assert report.grade == FAIL and any(r.startswith("shape") for r in report.reasons)


def test_thresholds_come_per_class_from_the_recipe():
    recipe = EnhanceRecipe()
    assert recipe.fidelity_for("Hand  Bag").delta_e_mean == (1.5, 3.0)
    assert recipe.fidelity_for("teapot") == DEFAULT_FIDELITY
    report = measure_fidelity(*product_shot()[:1] * 2, product_shot()[1])
    report.delta_e_mean = 2.5
    assert grade(report, recipe.fidelity_for("shoe")).grade == WARN
    assert grade(report, recipe.fidelity_for("hand bag")).grade == WARN
    report.delta_e_mean = 3.5
    assert grade(report, recipe.fidelity_for("hand bag")).grade == FAIL
    assert grade(report, FidelityThresholds(delta_e_mean=(4.0, 8.0))).grade == PASS


def test_large_regions_are_measured_on_a_reduced_copy():
    image, mask = product_shot()
    big, big_mask = np.repeat(np.repeat(image, 10, 0), 10, 1), np.repeat(np.repeat(mask, 10, 0), 10, 1)
    shifted = big.copy()
    shifted[big_mask] = hue_rotated(big, 11.5)[big_mask]
    report = measure_fidelity(big, shifted, big_mask, max_side=400)
    assert 4.0 < report.delta_e_mean < 6.0


def test_mismatched_sizes_and_empty_masks_are_clear_errors():
    image, mask = product_shot()
    with pytest.raises(ValueError, match="sizes differ"):
        measure_fidelity(image, image[:-1], mask)
    with pytest.raises(ValueError, match="empty"):
        measure_fidelity(image, image, np.zeros_like(mask))
