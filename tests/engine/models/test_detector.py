"""The `detector` role: the tiny OWLv2 written by make-tiny loads through the real loader and finds boxes
in pixels of the image; a missing or wrong folder is a clear message naming the role."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.models.config import ModelsConfig, RoleSpec
from engine.models.detector import detector_key, load_detector
from engine.models.errors import MissingModel, ModelError
from engine.models.locate import role_problem
from engine.runtime.device import choose_device


def test_the_tiny_detector_loads_from_its_folder_and_finds_boxes_in_image_pixels(tiny_registry):
    folder = tiny_registry.config.spec("detector").local_path()
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    detector = tiny_registry.detector()
    assert detector is tiny_registry.detector()  # loaded once, kept resident
    assert type(detector.model).__name__ == "Owlv2ForObjectDetection"
    rgb = np.random.default_rng(0).integers(0, 255, (300, 500, 3), np.uint8)
    found = detector(rgb, ["a photo of a hand bag.", "a photo of a shoe."], threshold=-1.0)
    assert len(found) == 60 * 60  # one box per 16 px patch of the 960 px square, as OWLv2 base
    assert found.boxes.shape == (3600, 4) and set(np.unique(found.labels)) <= {0, 1}
    assert (found.boxes[:, [0, 2]] <= 500).all() and (found.boxes[:, [1, 3]] <= 300).all()
    assert (found.boxes >= 0).all() and (np.diff(found.scores) <= 0).all()  # best first
    reduced = detector(rgb, ["a photo of a hand bag."], threshold=-1.0, dtype=torch.bfloat16)
    assert reduced.boxes.dtype == np.float32 and len(reduced) == 3600


def test_a_threshold_above_every_score_finds_nothing(tiny_registry):
    rgb = np.zeros((64, 64, 3), np.uint8)
    assert len(tiny_registry.detector()(rgb, ["a photo of a shoe."], threshold=1.0)) == 0


def test_a_missing_detector_names_the_role_and_the_download(tmp_path):
    spec = RoleSpec("detector", "owlv2-base-patch16-ensemble", tmp_path, {})
    with pytest.raises(MissingModel, match=r"Model 'detector' not found.*models download detector"):
        load_detector(spec, choose_device("cpu"))
    config = ModelsConfig({"detector": spec})
    assert "detector" in role_problem(config, "detector")


def test_a_folder_of_another_model_type_is_refused(tmp_path):
    (tmp_path / "dino").mkdir()
    (tmp_path / "dino" / "config.json").write_text(json.dumps({"model_type": "grounding-dino"}))
    with pytest.raises(ModelError, match=r"Model 'detector'.*'grounding-dino'.*OWLv2"):
        load_detector(RoleSpec("detector", "dino", tmp_path, {}), choose_device("cpu"))


def test_the_key_changes_with_the_weights(tiny_registry, tmp_path):
    import shutil

    folder = shutil.copytree(tiny_registry.config.spec("detector").local_path(), tmp_path / "copy")
    before = detector_key(folder)
    (folder / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes() + b" ")
    assert detector_key(folder) != before


def test_a_smaller_input_side_interpolates_the_position_embeddings(tiny_registry, tmp_path):
    spec = tiny_registry.config.spec("detector")
    small = load_detector(
        RoleSpec("detector", str(spec.local_path()), tmp_path, {"image_size": 480}), choose_device("cpu")
    )
    found = small(np.zeros((300, 500, 3), np.uint8), ["a photo of a shoe."], threshold=-1.0)
    assert (
        len(found) == 30 * 30 and small.key.endswith("-480px") and small.key != tiny_registry.detector().key
    )
    bad = tmp_path / "models.toml"
    bad.write_text('[detector]\npath = "x"\nimage_size = 500\n')
    with pytest.raises(ModelError, match=r"\[detector\] image_size = 500 must be a multiple of 32"):
        ModelsConfig.load(bad)


def test_an_owl_vit_folder_loads_too_with_boxes_in_image_pixels(tiny_registry, tmp_path):
    """OWL-ViT (v1, B/32 at 768 px: 576 tokens) is the CPU-light alternative; it does not pad to a square."""
    from transformers import (
        CLIPTokenizer,
        OwlViTConfig,
        OwlViTForObjectDetection,
        OwlViTImageProcessor,
        OwlViTProcessor,
    )

    tiny = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = OwlViTConfig(
        text_config={**tiny, "vocab_size": 49408, "max_position_embeddings": 16},
        vision_config={**tiny, "image_size": 768, "patch_size": 32},
        projection_dim=32,
    )
    OwlViTForObjectDetection(config).save_pretrained(str(tmp_path / "owlvit"))
    clip_tokenizer = tiny_registry.config.spec("detector").local_path()  # OWLv2's: the same CLIP BPE
    tokenizer = CLIPTokenizer.from_pretrained(str(clip_tokenizer), model_max_length=16)
    side = {"height": 768, "width": 768}
    processor = OwlViTProcessor(OwlViTImageProcessor(size=side, crop_size=side), tokenizer)
    processor.save_pretrained(str(tmp_path / "owlvit"))
    detector = load_detector(RoleSpec("detector", "owlvit", tmp_path, {}), choose_device("cpu"))
    found = detector(np.zeros((300, 500, 3), np.uint8), ["a photo of a shoe."], threshold=-1.0)
    assert len(found) == 24 * 24
    assert (
        (found.boxes >= 0).all()
        and (found.boxes[:, [0, 2]] <= 500).all()
        and (found.boxes[:, [1, 3]] <= 300).all()
    )
