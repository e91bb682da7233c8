"""The canvas's fast click (SamSession.predict_click) against segment_anything's SamPredictor.predict on
the tiny SAM: the same mask for a point, a box and a refinement click that feeds the previous mask back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.segment import click
from engine.segment.click import ClickMask, resize_positive
from engine.segment.prompts import Prompt, apply_prompt
from engine.segment.session import SamSession


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def textured(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    image = np.full((height, width, 3), 225, np.uint8)
    image[height // 5 : height * 3 // 4, width // 4 : width * 3 // 4] = rng.integers(
        0, 140, (height * 3 // 4 - height // 5, width * 3 // 4 - width // 4, 3)
    )
    return image


@pytest.fixture(scope="module")
def session(tiny_registry):
    return SamSession(tiny_registry, precision="fp32")


@pytest.mark.parametrize("size", [(768, 1024), (96, 128), (1500, 1100)])  # equal, up- and downscaled
@pytest.mark.parametrize(
    "prompt",
    [
        {"points": [[0.5, 0.45]], "labels": [1], "multimask": True},
        {"points": [[0.4, 0.4], [0.9, 0.9]], "labels": [1, 0], "multimask": False},
        {"box": [0.25, 0.2, 0.75, 0.75], "multimask": False},
        {"points": [[0.5, 0.5]], "labels": [1], "box": [0.2, 0.2, 0.8, 0.8], "multimask": False},
    ],
)
def test_click_equals_the_predictors_best_mask(session, size, prompt):
    height, width = size
    rgb = textured(height, width)
    session.set_image(f"img-{height}x{width}", rgb)
    scale = np.array([width, height], np.float32)
    points = None if "points" not in prompt else np.array(prompt["points"], np.float32) * scale
    box = None if "box" not in prompt else np.array(prompt["box"], np.float32) * np.tile(scale, 2)
    labels = prompt.get("labels")
    masks, scores, _ = session.predict(points, labels, box, multimask=prompt["multimask"])
    found = session.predict_click(points, labels, box, multimask=prompt["multimask"])
    assert found.full().shape == (height, width)
    assert found.score == pytest.approx(float(scores[0]), abs=1e-4)
    assert iou(found.full(), masks[0]) > 0.999


def test_refinement_feeds_the_previous_mask_back(session):
    rgb = textured(600, 800)
    session.set_image("refine", rgb)
    first = session.predict_click([[400, 280]], [1], multimask=True)
    points, labels = [[400, 280], [300, 200]], [1, 1]
    masks, scores, _ = session.predict(points, labels, mask_input=first.low_res, multimask=False)
    refined = session.predict_click(points, labels, mask_input=first.low_res, multimask=False)
    assert refined.score == pytest.approx(float(scores[0]), abs=1e-4)
    assert iou(refined.full(), masks[0]) > 0.999
    without = session.predict_click(points, labels, multimask=False)
    assert not np.allclose(without.low_res, refined.low_res)  # the mask prompt changed the answer


def test_apply_prompt_refines_within_a_session_only(session):
    rgb = textured(300, 400)
    base = np.zeros((300, 400), np.uint8)
    one = Prompt(((200.0, 140.0, True),))
    two = Prompt(((200.0, 140.0, True), (120.0, 100.0, True)))
    apply_prompt(session, "session", rgb, base, one, generation=7)
    first = session.refine_input(("session", 7, 1))
    assert first is not None and first.shape == (1, 256, 256)
    mask, score = apply_prompt(session, "session", rgb, base, two, generation=7)
    expected = session.predict_click([[200, 140], [120, 100]], [1, 1], mask_input=first, multimask=False)
    assert np.array_equal(mask > 0, expected.full()) and score == pytest.approx(expected.score)
    assert session.refine_input(("session", 8, 1)) is None  # another session starts afresh


def test_subtracting_prompt_cuts_only_inside_the_window(session):
    rgb = textured(300, 400)
    base = np.full((300, 400), 255, np.uint8)
    prompt = Prompt(((200.0, 140.0, False),))
    mask, _ = apply_prompt(session, "cut", rgb, base, prompt)
    found = session.predict_click([[200, 140]], [1], multimask=True)
    assert np.array_equal(mask == 0, found.full())


def speckled_logits(shape: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    logits = torch.full((48, 64), -3.0)
    if shape == "blob":  # a product in the middle: tiles inside, outside and across its edge
        logits[10:30, 20:41] = torch.randn(20, 21, generator=generator) + 1.0
    elif shape == "most":  # most of the image, with a hole
        logits = torch.full((48, 64), 2.0)
        logits[20:25, 30:33] = -1.0
    else:  # noise: nearly every tile is an edge tile
        logits = torch.randn(48, 64, generator=generator)
    return logits


def resized_against_torch(logits: torch.Tensor, out_hw: tuple[int, int]) -> tuple[int, int]:
    """(pixels that differ from F.interpolate's, pixels in the mask) for resize_positive's window."""
    offset, window = resize_positive(logits, out_hw)
    assert window.dtype == np.uint8 and set(np.unique(window)) <= {0, 255}
    full = F.interpolate(logits[None, None], out_hw, mode="bilinear", align_corners=False)[0, 0] > 0
    pasted = torch.zeros(out_hw, dtype=torch.bool)
    pasted[offset[0] : offset[0] + window.shape[0], offset[1] : offset[1] + window.shape[1]] = (
        torch.from_numpy(window > 0)
    )
    return int((pasted != full).sum()), int(full.sum())


@pytest.mark.parametrize("out_hw", [(4000, 6000), (333, 250), (64, 64)])
@pytest.mark.parametrize("shape", ["blob", "most", "speckle"])
def test_tiled_resize_equals_full_interpolation(out_hw, shape, monkeypatch):
    monkeypatch.setattr(click, "EDGE_SHARE", 1.0)  # every mask through the tiles, however ragged
    differ, _ = resized_against_torch(speckled_logits(shape), out_hw)
    assert differ <= out_hw[0] * out_hw[1] * 1e-6


@pytest.mark.parametrize("out_hw", [(4000, 6000), (333, 250), (96, 128)])
@pytest.mark.parametrize("shape", ["blob", "most", "speckle"])
def test_fixed_point_resize_differs_only_on_the_edge(out_hw, shape, monkeypatch):
    monkeypatch.setattr(click, "EDGE_SHARE", -1.0)  # every mask resized whole in fixed point
    differ, inside = resized_against_torch(speckled_logits(shape), out_hw)
    assert inside > 0
    assert differ <= out_hw[0] * out_hw[1] * 1e-4  # a few pixels on the edge, where logits are ~0


def test_paste_adds_and_cuts_only_the_mask():
    window = np.zeros((3, 4), np.uint8)
    window[1, 1:3] = 255
    found = ClickMask((6, 8), (2, 3), window, 0.9, np.zeros((1, 256, 256), np.float32))
    base = np.full((6, 8), 40, np.uint8)
    added, cut = found.paste(base, 255), found.paste(base, 0)
    assert added[3, 4] == added[3, 5] == 255 and cut[3, 4] == cut[3, 5] == 0
    outside = np.ones((6, 8), bool)
    outside[3, 4:6] = False
    assert (added[outside] == 40).all() and (cut[outside] == 40).all()
    assert (base == 40).all()  # the base is not modified
    assert found.full().sum() == 2 and found.full()[3, 4]


def test_bf16_clicks_use_a_bf16_copy_of_the_decoder(tiny_registry, session):
    bf16 = SamSession(tiny_registry, precision="bf16")
    rgb = textured(300, 400)
    for each in (session, bf16):
        each.set_image("bf16-decoder", rgb)
    exact = session.predict_click([[200, 140]], [1], multimask=True)
    found = bf16.predict_click([[200, 140]], [1], multimask=True)
    decoder, _ = bf16.prompt_decoder()
    assert decoder.iou_token.weight.dtype == torch.bfloat16
    assert bf16.model.mask_decoder.iou_token.weight.dtype == torch.float32  # the shared model is untouched
    assert found.score == pytest.approx(exact.score, abs=0.05)
    assert iou(found.full(), exact.full()) > 0.9


def test_ready_for_prompts_takes_the_shared_work_off_the_first_click(tiny_registry, monkeypatch):
    session = SamSession(tiny_registry, precision="bf16")
    encoder = session.model.prompt_encoder
    calls = []
    original = encoder.get_dense_pe
    monkeypatch.setattr(encoder, "get_dense_pe", lambda: (calls.append(1), original())[1])
    session.ready_for_prompts()
    assert len(calls) == 1 and session.prompt_decoder()[0].iou_token.weight.dtype == torch.bfloat16
    session.set_image("ready", textured(120, 160))
    found = session.predict_click([[80, 60]], [1], multimask=True)
    session.predict_click([[80, 60], [40, 30]], [1, 1], mask_input=found.low_res, multimask=False)
    assert len(calls) == 1  # neither the first click nor a refinement made it again
