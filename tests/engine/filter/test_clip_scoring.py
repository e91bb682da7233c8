"""The crops CLIP sees: cut along the mask, the rest neutral, square, padded past the image's edge."""

from __future__ import annotations

import numpy as np

from engine.filter.clip_scoring import CROP_PAD, mask_crop

FILL = (123, 117, 104)


def test_crop_keeps_only_the_masked_pixels_in_a_padded_square():
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:] = (0, 0, 255)  # everything outside the mask is blue: none of it may reach the crop
    mask = np.zeros((100, 200), bool)
    mask[40:60, 150:200] = True  # 50 x 20, touching the right edge of the image
    mask[45:55, 170:180] = False  # a hole: background inside the box
    rgb[mask] = (255, 0, 0)
    side = 50 + 2 * round(50 * CROP_PAD)
    crop = np.asarray(mask_crop(rgb, mask, (150, 40, 199, 59), side, FILL))
    assert crop.shape == (side, side, 3)  # no resampling at this size: the pixels are exact
    red = (crop == (255, 0, 0)).all(-1)
    fill = (crop == FILL).all(-1)
    assert red.sum() == mask.sum() and (red | fill).all()  # every masked pixel, nothing of the blue
    rows, cols = np.nonzero(red)
    assert rows.min() > 0 and rows.max() < side - 1  # centred, with context padding on every side
    assert fill[:, cols.max() + 1 :].all()  # beyond the image's right edge: padding, not wrapped pixels
    small = np.asarray(mask_crop(rgb, mask, (150, 40, 199, 59), 24, FILL))
    assert small.shape == (24, 24, 3) and not (small[..., 2] > 128).any()  # resized, still no blue


def test_bf16_scores_come_from_a_bf16_copy_and_match_float32(tiny_registry, monkeypatch):
    """On the CPU, bf16 scores run a bf16 copy of the image encoder (made once per loaded model); the
    float32 model is left as it was."""
    import torch
    from PIL import Image

    from engine.filter.classes import default_classes
    from engine.filter.clip_scoring import ClipScorer
    from engine.models.registry import model_bytes

    rng = np.random.default_rng(0)
    crops = [Image.fromarray(rng.integers(0, 255, (40, 30 + 7 * i, 3), dtype=np.uint8)) for i in range(5)]
    classes = default_classes()
    exact = ClipScorer(tiny_registry).score_crops(crops, classes, batch_size=4)
    scorer = ClipScorer(tiny_registry, torch.bfloat16)
    shapes = []
    scorer.score_crops(crops[:1], classes, batch_size=4)  # makes the copy, kept with the loaded model
    copy = scorer.bundle.bf16_visual
    copy_bytes = sum(p.numel() * p.element_size() for p in [*copy.parameters(), *copy.buffers()])
    fp32_bytes = model_bytes(scorer.model)  # the float32 model alone
    assert tiny_registry.resident()["clip"] == fp32_bytes + copy_bytes  # counted in the memory budget
    assert ClipScorer(tiny_registry, torch.bfloat16).bundle.bf16_visual is copy  # another run: no new copy
    monkeypatch.setattr(
        copy, "forward", lambda x, f=copy.forward: shapes.append((tuple(x.shape), x.dtype)) or f(x)
    )
    fast = scorer.score_crops(crops, classes, batch_size=4)
    assert fast.shape == exact.shape == (5, len(classes.classes) + len(classes.other))
    assert sorted(shape[0] for shape, _ in shapes) == [1, 4]  # the batches as they are (side by side)
    assert all(dtype == torch.bfloat16 for _, dtype in shapes)
    assert np.abs(fast - exact).max() < 0.02 and np.allclose(fast.sum(1), 1.0, atol=1e-5)
    assert not np.allclose(fast, exact, atol=1e-7)  # it did run in bf16
    assert next(scorer.model.visual.parameters()).dtype == torch.float32


def test_crops_scored_in_batches_side_by_side_keep_their_order(tiny_registry):
    """Batches run on two threads on the CPU (engine/runtime/device.batch_workers): each crop's row is its
    own whatever the batching."""
    from PIL import Image

    from engine.filter.classes import default_classes
    from engine.filter.clip_scoring import ClipScorer

    rng = np.random.default_rng(1)
    crops = [Image.fromarray(rng.integers(0, 255, (36, 20 + 9 * i, 3), dtype=np.uint8)) for i in range(7)]
    scorer, classes = ClipScorer(tiny_registry), default_classes()
    whole = scorer.score_crops(crops, classes, batch_size=8)
    one_by_one = scorer.score_crops(crops, classes, batch_size=1)  # seven batches, two at a time
    np.testing.assert_allclose(one_by_one, whole, atol=1e-5)
    assert np.abs(whole - whole[::-1]).max() > 1e-4  # the rows differ: a reordering would show


def test_text_features_are_made_once_per_loaded_model_and_precision(tiny_registry, monkeypatch):
    import torch

    from engine.filter.classes import default_classes
    from engine.filter.clip_scoring import ClipScorer

    classes = default_classes()
    model = ClipScorer(tiny_registry).model
    model_calls = []
    encode_text = model.encode_text
    monkeypatch.setattr(model, "encode_text", lambda tokens: model_calls.append(1) or encode_text(tokens))
    ClipScorer(tiny_registry).bundle.text_features.clear()
    first = ClipScorer(tiny_registry).text_features(classes)
    again = ClipScorer(tiny_registry).text_features(classes)  # another run, same prompts: no new encoding
    assert again is first and len(model_calls) == 1
    ClipScorer(tiny_registry, torch.bfloat16).text_features(classes)  # results of precisions never mix
    other = ClipScorer(tiny_registry).text_features(classes.select([*classes.names, "sunglasses"]))
    assert len(model_calls) == 3 and other.shape[0] == first.shape[0] + 1
