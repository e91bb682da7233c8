"""The factored two-way transformer (engine/segment/factored.py) against segment_anything's own
`predict_masks` and the reordered decoder, at SAM's real sizes (256 channels, 64x64 grid) with random
weights whose norms and tokens are moved away from their start, so every term of the factors counts."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from engine.segment.decoder import prepare_image, upscale_masks
from engine.segment.factored import (
    FactoredImage,
    factor_image,
    factored_layers,
    factored_transformer,
    final_attention,
    supports,
)
from engine.segment.proposals import decode_passing, grid_image
from tests.engine.segment.test_decoder import sam_parts  # noqa: F401  (the shared fixture)


def prompts(sam_parts, count: int, seed: int, with_boxes: bool = False):  # noqa: F811
    prompt_encoder, decoder, features = sam_parts
    points = torch.rand(count, 1, 2, generator=torch.Generator().manual_seed(seed)) * 1024
    labels = torch.ones(points.shape[:2], dtype=torch.int)
    boxes = torch.tensor([[100.0, 120.0, 600.0, 700.0]]).expand(count, -1) if with_boxes else None
    with torch.inference_mode():
        sparse, dense = prompt_encoder(points=(points, labels), boxes=boxes, masks=None)
        prepared = prepare_image(decoder.transformer, features + dense[:1], prompt_encoder.get_dense_pe())
    return sparse, dense, prepared


@pytest.mark.parametrize("with_boxes", [False, True])  # 7 tokens (a padding point) or 8 (a box)
def test_factored_transformer_equals_the_library(sam_parts, with_boxes):  # noqa: F811
    prompt_encoder, decoder, features = sam_parts
    sparse, dense, prepared = prompts(sam_parts, 5, 3, with_boxes)
    assert supports(decoder.transformer)
    with torch.inference_mode():
        masks, iou = decoder.predict_masks(features, prompt_encoder.get_dense_pe(), sparse, dense)
        tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
        tokens = torch.cat((tokens.unsqueeze(0).expand(len(sparse), -1, -1), sparse), dim=1)
        queries, keys = factored_transformer(
            decoder.transformer, factor_image(decoder.transformer, prepared), tokens
        )
        our_iou = decoder.iou_prediction_head(queries[:, 0])
        every = torch.ones(len(sparse), dtype=torch.bool)
        our_masks = upscale_masks(decoder, keys.tokens(every), queries, (64, 64))
    assert keys.z.shape[1] == 2 * 8 * tokens.shape[1]  # two attentions' weights, 8 heads x T tokens
    scale = masks.abs().max()
    assert scale > 0.1 and masks.std() > 0.01 and iou.std() > 1e-3  # not flat: the comparison means something
    assert (our_iou - iou).abs().max() <= 5e-5 * iou.abs().max()
    assert (our_masks - masks).abs().max() <= 5e-5 * scale
    flipped = (our_masks > 0) != (masks > 0)
    assert flipped.sum() <= 10 and (masks[flipped].abs() <= 5e-5 * scale).all()


def test_the_image_tokens_of_some_prompts_are_theirs(sam_parts):  # noqa: F811
    _, decoder, _ = sam_parts
    sparse, _, prepared = prompts(sam_parts, 4, 4)
    with torch.inference_mode():
        tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
        tokens = torch.cat((tokens.unsqueeze(0).expand(len(sparse), -1, -1), sparse), dim=1)
        _, keys = factored_transformer(
            decoder.transformer, factor_image(decoder.transformer, prepared), tokens
        )
        every = keys.tokens(torch.ones(4, dtype=torch.bool))
        some = keys.tokens(torch.tensor([False, True, False, True]))
    assert some.shape == (2, 64 * 64, 256)
    torch.testing.assert_close(some, every[[1, 3]])
    assert not torch.allclose(every[0], every[1])  # each prompt changed the image tokens its own way


def test_the_final_attention_of_some_tokens_and_prompts_is_theirs(sam_parts):  # noqa: F811
    """Each token attends on its own in the final attention: the IoU token alone, or the prompts that
    pass the IoU filter alone, get what the whole batch would give them."""
    _, decoder, _ = sam_parts
    sparse, _, prepared = prompts(sam_parts, 5, 7)
    transformer = decoder.transformer
    with torch.inference_mode():
        tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
        tokens = torch.cat((tokens.unsqueeze(0).expand(len(sparse), -1, -1), sparse), dim=1)
        queries, keys = factored_layers(transformer, factor_image(transformer, prepared), tokens)
        every = final_attention(transformer, keys, queries, tokens)
        iou_token = final_attention(transformer, keys, queries[:, :1], tokens[:, :1])
        rows = torch.tensor([True, False, False, True, True])
        some = final_attention(transformer, keys.select(rows), queries[rows], tokens[rows])
    assert iou_token.shape == (5, 1, 256) and some.shape == (3, tokens.shape[1], 256)
    torch.testing.assert_close(iou_token[:, 0], every[:, 0], rtol=0, atol=1e-5)
    torch.testing.assert_close(some, every[rows], rtol=0, atol=1e-5)
    assert not torch.allclose(every[0], every[3], atol=1e-3)  # the prompts differ: picking rows matters


def test_decode_passing_gives_the_same_masks_factored_or_not(sam_parts):  # noqa: F811
    _, decoder, _ = sam_parts
    sparse, _, prepared = prompts(sam_parts, 8, 5)
    factored = grid_image(decoder.transformer, prepared, torch.float32)
    assert isinstance(factored, FactoredImage)
    with torch.inference_mode():
        _, plain_iou = decode_passing(decoder, prepared, sparse, 0.0)
        ordered = plain_iou.sort().values  # a threshold halfway between two IoUs: rounding cannot tip it
        threshold = float(ordered[len(ordered) // 2 - 1 : len(ordered) // 2 + 1].mean())
        masks, iou, prompt = decode_passing(decoder, prepared, sparse, threshold, with_prompts=True)
        f_masks, f_iou, f_prompt = decode_passing(decoder, factored, sparse, threshold, with_prompts=True)
    assert 0 < len(masks) < len(plain_iou)
    assert torch.equal(prompt, f_prompt)
    torch.testing.assert_close(f_iou, iou, rtol=0, atol=1e-5)
    assert (f_masks - masks).abs().max() <= 5e-5 * masks.abs().max()


def test_only_float32_grids_on_the_cpu_are_factored(sam_parts):  # noqa: F811
    _, decoder, _ = sam_parts
    _, _, prepared = prompts(sam_parts, 1, 6)
    assert isinstance(grid_image(decoder.transformer, prepared, torch.float32), FactoredImage)
    for dtype in (torch.float16, torch.bfloat16):  # the expanded variances want float32's range
        assert grid_image(decoder.transformer, prepared, dtype) is prepared
    on_gpu = replace(prepared, image=torch.empty(prepared.image.shape, device="meta"))  # (a stand-in)
    assert grid_image(decoder.transformer, on_gpu, torch.float32) is on_gpu
