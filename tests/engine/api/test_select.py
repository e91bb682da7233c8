"""The engine's "Select: NAME" job on the tiny models: the detector's best box, masked by SAM and added to
the base mask as a click's mask is; nothing found and a missing detector are clear outcomes."""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.api import Engine, Failed, SamImage, SelectRequest, SelectResult, Succeeded, load_models
from tests.fixtures.filter import shoot_image


def _image(tmp_path):
    folder = tmp_path / "shoot"
    rgb = np.array(Image.open(shoot_image(folder / "a.png", size=(320, 240))))
    return SamImage(folder, "img-1", rgb)


def test_select_adds_the_detected_products_mask_to_the_base(tiny_engine, tmp_path):
    image = _image(tmp_path)
    base = np.zeros(image.rgb.shape[:2], np.uint8)
    base[:10, :10] = 255  # painted before: kept
    outcome = tiny_engine.run(
        tiny_engine.select_by_name(SelectRequest(image, base, "hand bag", threshold=0.0))
    )
    assert isinstance(outcome, Succeeded) and isinstance(outcome.value, SelectResult)
    result = outcome.value
    assert result.image_id == "img-1" and result.text == "hand bag" and result.detector_score > 0.0
    assert result.mask.shape == base.shape and result.mask.dtype == np.uint8
    assert set(np.unique(result.mask)) <= {0, 255} and (result.mask[:10, :10] == 255).all()
    assert (result.mask > 0).sum() > (base > 0).sum()  # SAM's mask of the box was added


def test_nothing_above_the_threshold_or_blank_text_finds_nothing(tiny_engine, tmp_path):
    image = _image(tmp_path)
    base = np.zeros(image.rgb.shape[:2], np.uint8)
    for text, threshold in (("shoe", 1.0), ("  ", 0.0)):
        outcome = tiny_engine.run(tiny_engine.select_by_name(SelectRequest(image, base, text, threshold)))
        assert isinstance(outcome, Succeeded) and outcome.value.mask is None


def test_a_missing_detector_fails_with_the_role_and_the_fix(tiny_models, tmp_path):
    toml = tiny_models.read_text().replace('path = "owlv2-tiny"', 'path = "owlv2-missing"')
    models = tiny_models.parent / "select-no-detector.toml"
    models.write_text(toml)
    engine = Engine(load_models(models), "cpu")
    try:
        image = _image(tmp_path)
        base = np.zeros(image.rgb.shape[:2], np.uint8)
        outcome = engine.run(engine.select_by_name(SelectRequest(image, base, "hand bag")))
        assert isinstance(outcome, Failed)
        assert (
            "Model 'detector' not found" in outcome.message and "models download detector" in outcome.message
        )
        assert engine.model_problem("detector") is not None
    finally:
        assert engine.shutdown(30)
