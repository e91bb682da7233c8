"""SAM's mask decoder for many single prompts on one image, without a copy of the image per prompt.

segment_anything's `MaskDecoder.predict_masks` repeats the 64x64x256 image embedding for every prompt and
runs full-width projections, transposes and layer norms on every copy: for the automatic generator's
point grid that is most of its time, and much of it is either the same for every prompt or can act on
the prompt's 7 tokens instead of the image's 4,096. The same modules and weights, reordered:

- layer 1 attends over the image embedding itself, the same for every prompt (there is no mask prompt):
  its projections run once per image (`prepare_image`) and are shared by every batch of prompts;
- a projection of the image tokens that only feeds a dot product with a few token vectors moves to the
  token side ((W x + b) . k = x . (W^T k) + b . k), and one that only feeds an attention-weighted average
  moves after the average (the weights sum to 1); a bias that is constant along the softmax axis cancels;
- the out projection of image-to-token attention is folded into the token values, so no
  prompts x 4096 x 128 tensor is made;
- every large product keeps the image tokens in their row-major prompts x 4096 x 256 layout (a transposed
  operand would be copied), and the upscaling's kernel-2, stride-2 transposed convolutions are per-pixel
  matrix products on that channels-last layout.

Equal to the library's results up to float rounding (tests/test_sam_decoder.py compares them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass
class PreparedImage:
    """What every prompt on one image shares: image tokens (N x C, the embedding plus the no-mask dense
    prompt), their positional encoding, and layer 1's token-to-image keys and values (H x N x d)."""

    image: torch.Tensor
    pe: torch.Tensor
    image_with_pe: torch.Tensor
    grid_hw: tuple[int, int]
    first_keys_t: torch.Tensor  # H x d x N: layer 1's projected keys, transposed once here
    first_values: torch.Tensor  # H x N x d
    # H x N x d: layer 1's image-to-token queries (q_proj of image + pe, bias included), once per image
    first_image_queries: torch.Tensor | None = None


def heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """B x T x (H*d) -> B x H x T x d, as segment_anything's Attention._separate_heads."""
    b, t, dim = x.shape
    return x.reshape(b, t, num_heads, dim // num_heads).transpose(1, 2)


def _weight_heads(linear: Any, num_heads: int) -> torch.Tensor:
    """A projection's (H*d) x C weight as H x d x C."""
    weight = linear.weight
    return weight.view(num_heads, weight.shape[0] // num_heads, weight.shape[1])


@torch.inference_mode()
def prepare_image(transformer: Any, image: torch.Tensor, image_pe: torch.Tensor) -> PreparedImage:
    """image: 1 x C x h x w (the embedding plus the no-mask dense embedding); image_pe: 1 x C x h x w."""
    grid_hw = (int(image.shape[-2]), int(image.shape[-1]))
    tokens = image.flatten(2)[0].T.contiguous()  # N x C
    pe = image_pe.flatten(2)[0].T.contiguous()
    tokens_pe = tokens + pe
    attn = transformer.layers[0].cross_attn_token_to_image
    h = attn.num_heads
    keys = attn.k_proj(tokens_pe)  # N x (H*d)
    values = attn.v_proj(tokens)
    first_keys_t = keys.view(keys.shape[0], h, -1).permute(1, 2, 0).contiguous()
    first_values = values.view(values.shape[0], h, -1).transpose(0, 1).contiguous()
    to_tokens = transformer.layers[0].cross_attn_image_to_token
    queries = to_tokens.q_proj(tokens_pe)  # N x (H*d)
    image_queries = queries.view(queries.shape[0], to_tokens.num_heads, -1).transpose(0, 1).contiguous()
    return PreparedImage(tokens, pe, tokens_pe, grid_hw, first_keys_t, first_values, image_queries)


@torch.inference_mode()
def prepare_changed_image(
    transformer: Any, base: PreparedImage, change: torch.Tensor, up: torch.Tensor, shift: torch.Tensor
) -> PreparedImage:
    """`prepare_image` of `base`'s image tokens plus `change @ up + shift` (N x r, r x C, C), from `base`.

    A refinement click gives SAM the previous mask in place of the no-mask dense prompt; SAM's mask encoder
    ends in a 1 x 1 convolution from 16 channels, so the tokens change by a rank-16 term plus a constant.
    Projections are linear, W (x + d) = W x + W d, so layer 1's keys, values and queries change by the
    16 channels projected through W up: a 16-wide product per token instead of 256 (~4x less time)."""
    delta = torch.addmm(shift, change, up)  # N x C
    first = transformer.layers[0].cross_attn_token_to_image
    to_tokens = transformer.layers[0].cross_attn_image_to_token
    h, n = first.num_heads, change.shape[0]

    def projected(linear: Any) -> torch.Tensor:  # W (change @ up + shift), N x (H*d), no bias
        weight_t = linear.weight.T
        return torch.addmm(shift @ weight_t, change, up @ weight_t)

    keys_t = projected(first.k_proj).view(n, h, -1).permute(1, 2, 0)
    values = projected(first.v_proj).view(n, h, -1).transpose(0, 1)
    queries = projected(to_tokens.q_proj).view(n, to_tokens.num_heads, -1).transpose(0, 1)
    assert base.first_image_queries is not None
    return PreparedImage(
        base.image + delta,
        base.pe,
        base.image_with_pe + delta,
        base.grid_hw,
        base.first_keys_t + keys_t,
        base.first_values + values,
        base.first_image_queries + queries,
    )


def first_tokens_to_image(attn: Any, queries: torch.Tensor, prepared: PreparedImage) -> torch.Tensor:
    """Layer 1's `attn(q=queries, k=image + pe, v=image)`, with the image side from `prepare_image`."""
    h = attn.num_heads
    q = heads(attn.q_proj(queries), h)  # B x H x T x d
    b, _, t, d = q.shape
    q = (q / math.sqrt(d)).transpose(0, 1).reshape(h, b * t, d)  # the logits' scale, on the small side
    logits = torch.bmm(q, prepared.first_keys_t)
    weights = torch.softmax(logits, -1, out=logits)  # H x BT x N, in place
    out = torch.bmm(weights, prepared.first_values).view(h, b, t, d)
    return attn.out_proj(out.permute(1, 2, 0, 3).reshape(b, t, h * d))


def _tokens_to_image(
    attn: Any, queries: torch.Tensor, keys: torch.Tensor, keys_pe: torch.Tensor
) -> torch.Tensor:
    """`attn(q=queries, k=keys_pe, v=keys)` for B x T x C tokens over per-prompt B x N x C image tokens."""
    h = attn.num_heads
    q = heads(attn.q_proj(queries), h)  # B x H x T x d
    b, _, t, d = q.shape
    q = q / math.sqrt(d)  # the logits' scale, applied to the small side
    # k_proj moved to the token side; its bias adds a constant to each softmax column, which cancels.
    q_in_c = torch.einsum("bhtd,hdc->bcht", q, _weight_heads(attn.k_proj, h)).reshape(b, -1, h * t)
    weights = torch.bmm(keys_pe, q_in_c).softmax(dim=1)  # B x N x HT, a softmax over the image tokens
    # v_proj moved after the weighted average; the weights sum to 1, so its bias is added as it is.
    averaged = torch.bmm(weights.transpose(1, 2).contiguous(), keys).view(b, h, t, -1)
    values = torch.einsum("bhtc,hdc->bhtd", averaged, _weight_heads(attn.v_proj, h))
    values = values + attn.v_proj.bias.view(h, 1, d)
    return attn.out_proj(values.transpose(1, 2).reshape(b, t, h * d))


def _image_to_tokens(
    attn: Any,
    image_pe: torch.Tensor,
    tokens_pe: torch.Tensor,
    tokens: torch.Tensor,
    residual: torch.Tensor,
    image_queries: torch.Tensor | None = None,
) -> torch.Tensor:
    """`residual + attn(q=image_pe, k=tokens_pe, v=tokens)`: image tokens (N x C shared by every prompt, or
    B x N x C) attend to each prompt's B x T x C tokens. Returns B x N x C.
    image_queries: `attn.q_proj(image_pe)` as H x N x d, when the image side is shared and projected once
    per image (`prepare_image`): each prompt's logits are then a product over d, not over C."""
    h = attn.num_heads
    k = heads(attn.k_proj(tokens_pe), h)  # B x H x T x d
    v = heads(attn.v_proj(tokens), h)
    b, _, t, d = k.shape
    k = k / math.sqrt(d)  # the logits' scale, applied to the small side
    if image_queries is not None:
        logits = torch.bmm(image_queries, k.permute(1, 3, 0, 2).reshape(h, d, b * t))  # H x N x BT
        weights = logits.view(h, -1, b, t).permute(2, 0, 3, 1).softmax(dim=2).reshape(b, h * t, -1)
        return _weighted_values(attn, weights, v, residual)
    # q_proj moved to the token side: (W x + b) . k = x . (W^T k) + b . k
    k_in_c = torch.einsum("bhtd,hdc->bcht", k, _weight_heads(attn.q_proj, h)).reshape(b, -1, h * t)
    k_bias = torch.einsum("bhtd,hd->bht", k, attn.q_proj.bias.view(h, d)).reshape(b, 1, h * t)
    if image_pe.dim() == 2:  # shared by every prompt: one N x C by C x (B*HT) product
        logits = (image_pe @ k_in_c.transpose(0, 1).reshape(image_pe.shape[1], -1)).view(-1, b, h * t)
        logits = logits.transpose(0, 1) + k_bias
    else:
        logits = torch.baddbmm(k_bias, image_pe, k_in_c)  # B x N x HT
    # a softmax over each head's T tokens, taken along a strided axis: a last axis of 7 is slow on the CPU
    weights = logits.reshape(b, -1, h, t).permute(0, 2, 3, 1).softmax(dim=2).view(b, h * t, -1)
    return _weighted_values(attn, weights, v, residual)


def _weighted_values(
    attn: Any, weights: torch.Tensor, v: torch.Tensor, residual: torch.Tensor
) -> torch.Tensor:
    """`residual` + the attention output for weights B x HT x N over values v (B x H x T x d)."""
    # out_proj folded into the values: one B x N x HT by B x HT x C product
    return torch.baddbmm(residual, weights.transpose(1, 2), value_rows(attn, v))


def value_rows(attn: Any, v: torch.Tensor) -> torch.Tensor:
    """An attention's values v (B x H x T x d) through its out projection, one row per head and token:
    B x HT x C. The output is the weights times these rows summed over heads and tokens (A_h V_h W_h^T);
    each head's weights sum to 1, so its share of the out bias (1/H) rides along with its rows."""
    b, h, t, d = v.shape
    out_weight = attn.out_proj.weight.view(-1, h, d)  # C x H x d
    rows = torch.einsum("bhtd,chd->bhtc", v, out_weight) + attn.out_proj.bias / h
    return rows.reshape(b, h * t, -1)


def query_block(layer: Any, queries, query_pe, attend) -> torch.Tensor:
    """The token side of segment_anything's TwoWayAttentionBlock.forward up to norm3, step for step;
    `attend(q)` is its token-to-image attention (the image side is the caller's)."""
    if layer.skip_first_layer_pe:
        queries = layer.self_attn(q=queries, k=queries, v=queries)
    else:
        q = queries + query_pe
        queries = queries + layer.self_attn(q=q, k=q, v=queries)
    queries = layer.norm1(queries)
    queries = layer.norm2(queries + attend(queries + query_pe))
    return layer.norm3(queries + layer.mlp(queries))


def _block(
    layer: Any, queries, keys, query_pe, key_pe, prepared: PreparedImage
) -> tuple[torch.Tensor, torch.Tensor]:
    """segment_anything's TwoWayAttentionBlock.forward, step for step."""
    first = keys is prepared.image  # layer 1: the image embedding itself, projected once per image
    keys_pe = prepared.image_with_pe if first else keys + key_pe

    def attend(q: torch.Tensor) -> torch.Tensor:
        if first:
            return first_tokens_to_image(layer.cross_attn_token_to_image, q, prepared)
        return _tokens_to_image(layer.cross_attn_token_to_image, q, keys, keys_pe)

    queries = query_block(layer, queries, query_pe, attend)
    image_queries = prepared.first_image_queries if first else None
    keys = _image_to_tokens(
        layer.cross_attn_image_to_token, keys_pe, queries + query_pe, queries, keys, image_queries
    )
    return queries, layer.norm4(keys)


def two_way_transformer(
    transformer: Any, prepared: PreparedImage, tokens: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """segment_anything's TwoWayTransformer.forward for B prompts (tokens: B x T x C) on one image.
    Returns (queries B x T x C, image tokens B x N x C), as the library's."""
    if len(transformer.layers) < 1:
        raise ValueError("expected a two-way transformer with at least one layer")
    queries, keys = tokens, prepared.image
    for layer in transformer.layers:
        queries, keys = _block(layer, queries, keys, tokens, prepared.pe, prepared)
    final = transformer.final_attn_token_to_image
    attn_out = _tokens_to_image(final, queries + tokens, keys, keys + prepared.pe)
    return transformer.norm_final_attn(queries + attn_out), keys


def _pixel_linear(conv: Any, rows: torch.Tensor) -> torch.Tensor:
    """A kernel-2, stride-2 ConvTranspose2d as a matrix product on channels-last pixels:
    ... x C_in -> ... x (2 * 2 * C_out), ordered (i, j, channel) for output pixel (2y + i, 2x + j)."""
    if tuple(conv.kernel_size) != (2, 2) or tuple(conv.stride) != (2, 2) or tuple(conv.padding) != (0, 0):
        raise ValueError("expected SAM's kernel-2, stride-2 transposed convolution")
    weight = conv.weight.permute(0, 2, 3, 1).reshape(conv.weight.shape[0], -1)  # C_in x (i, j, C_out)
    flat = torch.addmm(conv.bias.repeat(4), rows.reshape(-1, rows.shape[-1]), weight)
    return flat.view(*rows.shape[:-1], weight.shape[1])


def upscale_masks(
    decoder: Any,
    keys: torch.Tensor,
    queries: torch.Tensor,
    grid_hw: tuple[int, int],
    masks: list[int] | None = None,
) -> torch.Tensor:
    """The decoder's mask head: upscale the image tokens 4x and take their product with each mask token's
    hypernetwork output. keys: M x N x C (N = h * w), queries: M x T x C; `masks`: which of the mask
    tokens (default all). Returns M x masks x 4h x 4w logits."""
    conv1, norm, act1, conv2, act2 = decoder.output_upscaling
    m, (h, w) = keys.shape[0], grid_hw
    x = _pixel_linear(conv1, keys).view(m, h * w * 4, -1)  # one row per pixel of the 2h x 2w grid
    x = act1(F.layer_norm(x, (x.shape[-1],), norm.weight, norm.bias, norm.eps))  # LayerNorm2d, channels last
    x = act2(_pixel_linear(conv2, x)).view(m, h * w * 16, -1)  # rows ordered (y, x, i, j, i2, j2)
    mask_tokens = queries[:, 1 : 1 + decoder.num_mask_tokens, :]
    chosen = range(decoder.num_mask_tokens) if masks is None else masks
    hyper = torch.stack([decoder.output_hypernetworks_mlps[i](mask_tokens[:, i]) for i in chosen], 1)
    logits = torch.bmm(x, hyper.transpose(1, 2))  # M x (16 N) x masks
    # pixel (4y + 2i + i2, 4x + 2j + j2)
    logits = logits.view(m, h, w, 2, 2, 2, 2, -1).permute(0, 7, 1, 3, 5, 2, 4, 6)
    return logits.reshape(m, -1, 4 * h, 4 * w)


@torch.inference_mode()
def decode_all(
    decoder: Any, prepared: PreparedImage, sparse: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """segment_anything's `MaskDecoder.predict_masks` for B prompts on one image (`prepare_image` of the
    embedding plus the prompts' dense embedding). sparse: B x T x C.
    Returns (low-res logits B x 4 x 4h x 4w, predicted IoU B x 4): mask 0 is the single-mask output,
    masks 1..3 the multimask ones, as the library's before its `mask_slice`."""
    output_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
    output_tokens = output_tokens.unsqueeze(0).expand(sparse.size(0), -1, -1)
    tokens = torch.cat((output_tokens, sparse.to(output_tokens.dtype)), dim=1)
    queries, keys = two_way_transformer(decoder.transformer, prepared, tokens)
    iou = decoder.iou_prediction_head(queries[:, 0, :])
    return upscale_masks(decoder, keys, queries, prepared.grid_hw), iou


@torch.inference_mode()
def decode_best(
    decoder: Any, prepared: PreparedImage, sparse: torch.Tensor, multimask: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """`decode_all` for one click (sparse: 1 x T x C), upscaling only the mask it keeps: the multimask
    output with the best predicted IoU (as SamPredictor's callers choose), or the single-mask output.
    The predicted IoU comes from the transformer, before the upscaling. Returns (4h x 4w logits, IoU)."""
    output_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
    tokens = torch.cat((output_tokens[None], sparse.to(output_tokens.dtype)), dim=1)
    queries, keys = two_way_transformer(decoder.transformer, prepared, tokens)
    iou = decoder.iou_prediction_head(queries[:, 0, :])[0]
    best = int(iou[1:].float().argmax()) + 1 if multimask else 0
    return upscale_masks(decoder, keys, queries, prepared.grid_hw, [best])[0, 0], iou[best]
