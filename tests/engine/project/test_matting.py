"""Soft edges on the tiny ViTMatte: soft only in the trimap band, exactly 0/1 elsewhere; the cut-out path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.imaging.trimap import BACKGROUND, FOREGROUND, UNKNOWN
from engine.project.matting import cutout_alpha, refine_edge
from tests.fixtures.enhance import textured_rgb


@pytest.fixture
def shot():
    rgb = textured_rgb(120, 160, seed=3)
    yy, xx = np.mgrid[:120, :160]
    mask = (((yy - 60) / 40) ** 2 + ((xx - 80) / 55) ** 2 < 1).astype(np.uint8) * 255
    return rgb, mask


def assert_soft_only_in_band(edge):
    alpha, trimap = edge.alpha, edge.trimap
    assert alpha.dtype == np.float32 and alpha.shape == trimap.shape
    assert (alpha[trimap == BACKGROUND] == 0.0).all() and (alpha[trimap == FOREGROUND] == 1.0).all()
    band = alpha[trimap == UNKNOWN]
    assert band.size > 0 and ((band > 0) & (band < 1)).mean() > 0.9  # the model's soft values


def test_the_tiny_vitmatte_alpha_is_soft_only_in_the_band(shot, tiny_registry):
    rgb, mask = shot
    edge = refine_edge(rgb, mask, tiny_registry.matting(), band=10)
    assert_soft_only_in_band(edge)
    # The band is where it was asked for: 10 px across the edge of the ellipse.
    assert (edge.trimap == UNKNOWN).sum() == pytest.approx(10 * 2 * np.pi * 47.5, rel=0.15)


def test_a_large_crop_is_matted_at_a_reduced_size_and_held_to_the_full_size_band(shot, tiny_registry):
    rgb, mask = shot
    edge = refine_edge(rgb, mask, tiny_registry.matting(), band=6, max_side=64)
    assert_soft_only_in_band(edge)


def test_the_cutout_alpha_for_export_is_soft_in_the_band_and_0_or_255_elsewhere(
    shot, tiny_registry, tmp_path
):
    rgb, mask = shot
    alpha = cutout_alpha(rgb, mask, tiny_registry, band=8)
    assert alpha.dtype == np.uint8 and alpha.shape == mask.shape
    edge = refine_edge(rgb, mask, tiny_registry.matting(), band=8)
    outside = edge.trimap != UNKNOWN
    assert set(np.unique(alpha[outside])) == {0, 255}
    assert ((alpha[~outside] > 0) & (alpha[~outside] < 255)).mean() > 0.9
    # As a cut-out file: RGBA with that alpha, round-tripped losslessly.
    path = tmp_path / "cutout.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    assert (np.asarray(Image.open(path))[..., 3] == alpha).all()


def test_mismatched_sizes_are_a_clear_error(shot, tiny_registry):
    rgb, mask = shot
    with pytest.raises(ValueError, match="differ in size"):
        refine_edge(rgb, mask[:-1], tiny_registry.matting())
