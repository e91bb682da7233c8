"""The reordered SAM decoder (engine/sam_decoder.py) against segment_anything's own `predict_masks`, at
SAM's real sizes (256 channels, 64x64 grid) with random weights."""

from __future__ import annotations

import pytest
import torch
from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer

from engine.segment.decoder import prepare_changed_image, prepare_image, two_way_transformer, upscale_masks
from engine.segment.proposals import decode_passing


@pytest.fixture(scope="module")
def sam_parts():
    torch.manual_seed(0)
    prompt_encoder = PromptEncoder(
        embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024), mask_in_chans=16
    )
    transformer = TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8)
    decoder = MaskDecoder(transformer_dim=256, transformer=transformer, num_multimask_outputs=3)
    with torch.no_grad():  # norms and tokens away from their identity/zero start, so every term counts
        for name, param in [*decoder.named_parameters(), *prompt_encoder.named_parameters()]:
            if "norm" in name or "token" in name or "embed" in name:
                param.add_(torch.randn_like(param) * 0.2)
        decoder.iou_prediction_head.layers[-1].bias += 1.0  # IoUs above 0 (a threshold <= 0 means "off")
    features = torch.randn(1, 256, 64, 64)
    return prompt_encoder.eval(), decoder.eval(), features


def library_and_ours(sam_parts, points, boxes=None):
    prompt_encoder, decoder, features = sam_parts
    labels = torch.ones(points.shape[:2], dtype=torch.int)
    with torch.inference_mode():
        sparse, dense = prompt_encoder(points=(points, labels), boxes=boxes, masks=None)
        pe = prompt_encoder.get_dense_pe()
        theirs = decoder.predict_masks(features, pe, sparse, dense)
        tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
        tokens = torch.cat((tokens.unsqueeze(0).expand(len(points), -1, -1), sparse), dim=1)
        prepared = prepare_image(decoder.transformer, features + dense[:1], pe)
        queries, keys = two_way_transformer(decoder.transformer, prepared, tokens)
        ours = upscale_masks(decoder, keys, queries, (64, 64)), decoder.iou_prediction_head(queries[:, 0])
    return theirs, ours


@pytest.mark.parametrize("with_boxes", [False, True])  # 7 tokens (a padding point) or 8 (a box)
def test_reordered_decoder_equals_the_library(sam_parts, with_boxes):
    generator = torch.Generator().manual_seed(1)
    points = torch.rand(6, 1, 2, generator=generator) * 1024
    boxes = torch.tensor([[100.0, 120.0, 600.0, 700.0]]).expand(6, -1) if with_boxes else None
    (masks, iou), (our_masks, our_iou) = library_and_ours(sam_parts, points, boxes)
    assert our_masks.shape == masks.shape == (6, 4, 256, 256)
    scale = masks.abs().max()
    assert scale > 0.1 and masks.std() > 0.01  # the masks are not flat: the comparison means something
    assert (our_masks - masks).abs().max() <= 5e-5 * scale
    assert (our_iou - iou).abs().max() <= 5e-5 * iou.abs().max()
    # the same masks: a pixel's side of the threshold changes only where its logit is at rounding level
    flipped = (our_masks > 0) != (masks > 0)
    assert flipped.sum() <= 10 and (masks[flipped].abs() <= 5e-5 * scale).all()


def test_decode_passing_upscales_only_the_masks_above_the_iou_threshold(sam_parts):
    prompt_encoder, decoder, features = sam_parts
    points = torch.rand(8, 1, 2, generator=torch.Generator().manual_seed(2)) * 1024
    (masks, iou), _ = library_and_ours(sam_parts, points)
    iou, masks = iou[:, 1:], masks[:, 1:]  # multimask output
    ordered = iou.flatten().sort().values  # a threshold halfway between two IoUs: rounding cannot tip it
    threshold = float(ordered[len(ordered) // 2 - 1 : len(ordered) // 2 + 1].mean())
    labels = torch.ones(points.shape[:2], dtype=torch.int)
    with torch.inference_mode():
        sparse, dense = prompt_encoder(points=(points, labels), boxes=None, masks=None)
        prepared = prepare_image(decoder.transformer, features + dense[:1], prompt_encoder.get_dense_pe())
        low_res, passing_iou = decode_passing(decoder, prepared, sparse, threshold)
    keep = iou > threshold
    assert 0 < len(low_res) == int(keep.sum()) < iou.numel()
    assert torch.allclose(passing_iou, iou[keep], atol=1e-6)
    assert (low_res - masks[keep]).abs().max() <= 5e-5 * masks.abs().max()


def test_a_mask_prompts_image_side_is_the_no_mask_side_plus_the_change(sam_parts):
    prompt_encoder, decoder, features = sam_parts
    mask = torch.randn(1, 1, 256, 256) * 4
    with torch.inference_mode():
        _, dense = prompt_encoder(points=None, boxes=None, masks=mask)
        pe = prompt_encoder.get_dense_pe()
        direct = prepare_image(decoder.transformer, features + dense, pe)
        no_mask = prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
        base = prepare_image(decoder.transformer, features + no_mask, pe)
        *downscale, last = prompt_encoder.mask_downscaling
        change = torch.nn.Sequential(*downscale)(mask).flatten(2)[0].T
        shift = last.bias - prompt_encoder.no_mask_embed.weight[0]
        changed = prepare_changed_image(decoder.transformer, base, change, last.weight[:, :, 0, 0].T, shift)
    for name in ("image", "image_with_pe", "first_keys_t", "first_values", "first_image_queries"):
        ours, theirs = getattr(changed, name), getattr(direct, name)
        assert ours.shape == theirs.shape
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4, msg=name)
    assert not torch.allclose(base.first_keys_t, direct.first_keys_t)  # the mask changed them
