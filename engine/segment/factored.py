"""SAM's two-way transformer for a grid of single prompts on one image, with the image tokens factored.

After the first layer a prompt changes the 4,096 image tokens only through its attention: token n becomes
`E_n + w_n . V`, where w_n are its H x T attention weights (8 heads x 7 tokens = 56) and V the prompt's 56
value rows, then a layer norm. A layer norm centres a token, scales it and multiplies by a fixed gain, so
after the second layer the tokens are

    K_n = s2_n (s1_n F_n + z_n . R + r) + b       F: N x C, the same for every prompt (made once per image);
                                                  s1, s2: the two norms' per-token scales; z_n: 112
                                                  coefficients (both attentions' weights); R: the prompt's
                                                  112 value rows, through the same norms; r, b: constants

and every product with them is one with F, made once per image, plus one in the 56-112 space of the
prompt's own rows. The norms' variances come out of the same pieces (|x + y|^2 = |x|^2 + 2 x.y + |y|^2);
a value row's dot product with F goes through the 16 channels of its head's out projection
(`v . (W_out^T F_n)`), also projected once per image. No prompts x 4,096 x 256 tensor is made: per prompt
~190 M multiply-adds on 56-112-wide tensors, where `decoder.two_way_transformer` does ~410 M on 256-wide
ones, and it is memory traffic that bounds both on a CPU. Only the prompts whose masks pass the IoU filter
get their image tokens written out (`FactoredKeys.tokens`), for the mask upscaling.

Exact in float32 up to rounding (tests/engine/segment/test_factored.py compares it with the library's
`predict_masks` and the reordered decoder). Written for SAM's transformer: two blocks and a final
attention, as every SAM checkpoint has (`supports`); any other goes through `decoder.two_way_transformer`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from engine.segment.decoder import PreparedImage, first_tokens_to_image, heads, query_block, value_rows


def supports(transformer: Any) -> bool:
    """Whether `factored_transformer` can run this transformer (SAM's depth-2 two-way transformer)."""
    layers = getattr(transformer, "layers", [])
    return len(layers) == 2 and layers[0].skip_first_layer_pe and not layers[1].skip_first_layer_pe


def _centred(x: torch.Tensor) -> torch.Tensor:
    return x - x.mean(-1, keepdim=True)


def _heads_t(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """N x (H*d) -> H x d x N, contiguous: the image side of a per-head product, tokens last."""
    return x.view(x.shape[0], num_heads, -1).permute(1, 2, 0).contiguous()


def _heads_of(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """N x (H*d) -> H x N x d, contiguous: the image side of a per-head average."""
    return x.view(x.shape[0], num_heads, -1).transpose(0, 1).contiguous()


@dataclass
class FactoredImage:
    """What every prompt on one image shares: layer 1's image side (`prepare_image`) and, for the layers
    after it, the shared part of the image tokens and its projections: per head, H x d x N (`_t`) for
    dot products with the prompt's tokens, H x N x d for averages over the image tokens."""

    prepared: PreparedImage
    e_norm: torch.Tensor  # N: |P E_n|^2, P = centring
    e_out1_t: torch.Tensor  # H x d x N: layer 1's out projection, transposed, of P E (rows . P E)
    e_bias1: torch.Tensor  # N: P E . (layer 1's out bias)
    f1_keys2_t: torch.Tensor  # H x d x N: layer 2 token-to-image keys of F1 (no bias)
    pe_keys2_t: torch.Tensor  # H x d x N: ... of pe + b1
    f1_values2: torch.Tensor  # H x N x d: layer 2 token-to-image values of F1 (no bias)
    f1_queries2_t: torch.Tensor  # H x d x N: layer 2 image-to-token queries of F1 (no bias)
    pe_queries2_t: torch.Tensor  # H x d x N: ... of pe + b1, with the bias
    f1_norm: torch.Tensor  # N: |P F1_n|^2
    f1_bias: torch.Tensor  # N: P F1 . b1
    j1_out1_t: torch.Tensor  # H x d x N: layer 1's out projection of P(g1 P F1) (layer-1 rows . P F1)
    j1_bias1: torch.Tensor  # N
    f1_out2_t: torch.Tensor  # H x d x N: layer 2's out projection of P F1 (layer-2 rows . P F1)
    f1_bias2: torch.Tensor  # N
    f2_keys_t: torch.Tensor  # H x d x N: the final attention's keys of F2 (no bias)
    pe_keys_t: torch.Tensor  # H x d x N: ... of pe + b2
    f2_values: torch.Tensor  # H x N x d: the final attention's values of F2 (no bias)
    f2: torch.Tensor  # N x C: F2 = L2(L1(E)), for writing out image tokens


@torch.inference_mode()
def factor_image(transformer: Any, prepared: PreparedImage) -> FactoredImage:
    """The per-image side of `factored_transformer` (~0.05 s for vit_b on a CPU)."""
    first, second = transformer.layers
    final = transformer.final_attn_token_to_image
    out1, out2 = first.cross_attn_image_to_token.out_proj, second.cross_attn_image_to_token.out_proj
    g1, b1 = first.norm4.weight, first.norm4.bias
    g2, b2 = second.norm4.weight, second.norm4.bias
    t2i, i2t = second.cross_attn_token_to_image, second.cross_attn_image_to_token
    h = t2i.num_heads
    pe = prepared.pe

    pe_e = _centred(prepared.image)
    f1 = pe_e * g1
    pf1 = _centred(f1)
    j1 = _centred(g1 * pf1)
    f2 = pf1 * g2
    return FactoredImage(
        prepared=prepared,
        e_norm=(pe_e * pe_e).sum(-1),
        e_out1_t=_heads_t(pe_e @ out1.weight, h),
        e_bias1=pe_e @ out1.bias,
        f1_keys2_t=_heads_t(f1 @ t2i.k_proj.weight.T, h),
        pe_keys2_t=_heads_t((pe + b1) @ t2i.k_proj.weight.T, h),
        f1_values2=_heads_of(f1 @ t2i.v_proj.weight.T, h),
        f1_queries2_t=_heads_t(f1 @ i2t.q_proj.weight.T, h),
        pe_queries2_t=_heads_t(i2t.q_proj(pe + b1), h),
        f1_norm=(pf1 * pf1).sum(-1),
        f1_bias=pf1 @ b1,
        j1_out1_t=_heads_t(j1 @ out1.weight, h),
        j1_bias1=j1 @ out1.bias,
        f1_out2_t=_heads_t(pf1 @ out2.weight, h),
        f1_bias2=pf1 @ out2.bias,
        f2_keys_t=_heads_t(f2 @ final.k_proj.weight.T, h),
        pe_keys_t=_heads_t((pe + b2) @ final.k_proj.weight.T, h),
        f2_values=_heads_of(f2 @ final.v_proj.weight.T, h),
        f2=f2,
    )


def _dot(image_t: torch.Tensor, tokens: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Per head, image side H x d x N with prompt side B x H x T x d -> B x (H*T) x N (into `out`, a
    B x HT x N tensor whose per-prompt slices are contiguous). One product per prompt, written in place:
    a single batched product over heads would need its B x HT x N result transposed (a copy). For one
    token (the IoU token's final attention) one product per head over all prompts instead: a prompt's
    1 x d row alone would read the whole image side for 16 x N products."""
    h, _, n = image_t.shape
    b, _, t, _ = tokens.shape
    out = torch.empty(b, h * t, n, dtype=image_t.dtype, device=image_t.device) if out is None else out
    if t == 1:
        for j in range(h):
            torch.mm(tokens[:, j, 0], image_t[j], out=out[:, j])
        return out
    tokens = tokens.contiguous()
    for i in range(b):
        torch.bmm(tokens[i], image_t, out=out[i].view(h, t, n))
    return out


def _average(weights: torch.Tensor, image: torch.Tensor, t: int) -> torch.Tensor:
    """Per head, sum over n of weights (B x HT x N) times the image side H x N x d -> B x H x T x d
    (per head over all prompts for one token, as `_dot`)."""
    b, _, n = weights.shape
    h, _, d = image.shape
    out = torch.empty(b, h, t, d, dtype=image.dtype, device=image.device)
    if t == 1:
        for j in range(h):
            torch.mm(weights[:, j], image[j], out=out[:, j, 0])
        return out
    for i in range(b):
        torch.bmm(weights[i].view(h, t, n), image, out=out[i])
    return out


@dataclass
class FactoredKeys:
    """The image tokens after the transformer, per prompt, as their factors (see the module docstring):
    K_n = s2_n (s1_n F2_n + z[:, n] . rows + last) + bias."""

    image: FactoredImage
    s1: torch.Tensor  # B x N
    s2: torch.Tensor  # B x N
    z: torch.Tensor  # B x r x N
    rows: torch.Tensor  # B x r x C
    last: torch.Tensor  # C
    bias: torch.Tensor  # C

    def select(self, which: torch.Tensor) -> FactoredKeys:
        """The image tokens of the prompts `which` (bool B or indices) only."""
        pick = self.s1[which], self.s2[which], self.z[which], self.rows[which]
        return FactoredKeys(self.image, *pick, self.last, self.bias)

    def tokens(self, which: torch.Tensor) -> torch.Tensor:
        """The image tokens of the prompts `which` (bool B or indices) written out: M x N x C."""
        s2 = self.s2[which].unsqueeze(-1)
        written = torch.baddbmm(self.last, self.z[which].transpose(1, 2), self.rows[which])
        written.addcmul_(self.s1[which].unsqueeze(-1), self.image.f2).mul_(s2)
        return written.add_(self.bias)


def _scaled_heads(linear: Any, x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """A projection of the prompt tokens per head, scaled by 1/sqrt(d) (the logits' scale): B x H x T x d."""
    projected = heads(linear(x), num_heads)
    return projected / math.sqrt(projected.shape[-1])


def _token_side(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """x (B x H x T x d) through a projection's (H*d) x C weight per head, transposed: B x HT x C."""
    b, h, t, d = x.shape
    return torch.einsum("bhtd,hdc->bhtc", x, weight.view(h, d, -1)).reshape(b, h * t, -1)


def _own_heads(mixed: torch.Tensor, h: int, t: int) -> torch.Tensor:
    """B x HT x (H*d) -> B x H x T x d: row (h, t) keeps its own head's d channels."""
    b = mixed.shape[0]
    return mixed.view(b, h, t, h, -1).diagonal(dim1=1, dim2=3).permute(0, 3, 1, 2)


def _attention_out(attn: Any, averaged: torch.Tensor) -> torch.Tensor:
    """B x H x T x d averaged values -> out_proj, B x T x C."""
    b, h, t, d = averaged.shape
    return attn.out_proj(averaged.transpose(1, 2).reshape(b, t, h * d))


@torch.inference_mode()
def factored_transformer(
    transformer: Any, image: FactoredImage, tokens: torch.Tensor
) -> tuple[torch.Tensor, FactoredKeys]:
    """segment_anything's TwoWayTransformer.forward for B prompts (tokens: B x T x C) on one image.
    Returns (queries B x T x C, the image tokens as `FactoredKeys`)."""
    queries, keys = factored_layers(transformer, image, tokens)
    return final_attention(transformer, keys, queries, tokens), keys


@torch.inference_mode()
def factored_layers(
    transformer: Any, image: FactoredImage, tokens: torch.Tensor
) -> tuple[torch.Tensor, FactoredKeys]:
    """The transformer's two blocks, without its final attention (`final_attention`): (queries B x T x C,
    the image tokens as `FactoredKeys`). Per-prompt tensors over the image tokens are B x (H*T) x N:
    heads and prompt tokens first, image tokens last."""
    first, second = transformer.layers
    prepared = image.prepared
    b, t, _ = tokens.shape
    n = prepared.image.shape[0]

    # -- layer 1: the token side over the shared image (decoder.prepare_image), then image to token
    queries = query_block(
        first, tokens, tokens, lambda q: first_tokens_to_image(first.cross_attn_token_to_image, q, prepared)
    )
    i2t = first.cross_attn_image_to_token
    h = i2t.num_heads
    k = _scaled_heads(i2t.k_proj, queries + tokens, h)
    v1 = heads(i2t.v_proj(queries), h)
    assert prepared.first_image_queries is not None
    logits = _dot(prepared.first_image_queries.transpose(1, 2), k)
    w1 = logits.view(b, h, t, n).softmax(dim=2).view(b, h * t, n)  # over each head's T tokens
    # norm4 of x = E + w1 V1 (the rows' out bias sums to e_bias1 over w1, whose heads each sum to 1):
    # |P x|^2 = |P E|^2 + 2 w1 . (V1 . P E) + w1 (P V1)(P V1)^T w1
    centred1 = _centred(value_rows(i2t, v1))  # B x HT x C
    half = _dot(image.e_out1_t, v1).baddbmm_(centred1 @ centred1.transpose(1, 2), w1, alpha=0.5)
    square = half.mul_(w1).sum(1).mul_(2).add_(image.e_norm + 2 * image.e_bias1)  # (half: spent here)
    norm = first.norm4
    s1 = torch.rsqrt(square / norm.normalized_shape[0] + norm.eps)  # B x N
    rows1 = centred1 * norm.weight  # R1: K1_n = s1_n (F1_n + w1[:, n] . R1) + b1
    b1 = norm.bias
    s1_rows = s1.unsqueeze(1)

    # -- layer 2, token to image over K1 + pe: logits (K1 + pe) . Wk^T q (the key bias cancels)
    t2i = second.cross_attn_token_to_image

    def second_attend(q_in: torch.Tensor) -> torch.Tensor:
        q = _scaled_heads(t2i.q_proj, q_in, h)  # B x H x T x d
        mixing = _token_side(t2i.k_proj.weight, q) @ rows1.transpose(1, 2)  # B x HT x HT
        logits = _dot(image.f1_keys2_t, q).baddbmm_(mixing, w1).mul_(s1_rows).add_(_dot(image.pe_keys2_t, q))
        a_s1 = logits.softmax(dim=-1).mul_(s1_rows)  # a softmax over the image tokens, times s1
        averaged = _average(a_s1, image.f1_values2, t)  # F1's part, B x H x T x d
        mixed = torch.bmm(a_s1, w1.transpose(1, 2)) @ (rows1 @ t2i.v_proj.weight.T)  # R1's
        constant = t2i.v_proj(b1).view(h, 1, -1)  # the weights sum to 1
        return _attention_out(t2i, averaged + _own_heads(mixed, h, t) + constant)

    queries = query_block(second, queries, tokens, second_attend)
    # -- layer 2, image to token: logits (Wq (K1 + pe) + bq) . k, a softmax over each head's tokens
    i2t = second.cross_attn_image_to_token
    k = _scaled_heads(i2t.k_proj, queries + tokens, h)
    v2 = heads(i2t.v_proj(queries), h)
    mixing = _token_side(i2t.q_proj.weight, k) @ rows1.transpose(1, 2)
    logits = _dot(image.f1_queries2_t, k).baddbmm_(mixing, w1).mul_(s1_rows)
    logits.add_(_dot(image.pe_queries2_t, k))
    # z = [s1 w1; w2]: the coefficients of R1 and V2 in s1 X + Y below, and (times s2) in K2
    ht = h * t
    z = torch.empty(b, 2 * ht, n, dtype=w1.dtype, device=w1.device)
    torch.mul(w1, s1_rows, out=z[:, :ht])
    z[:, ht:] = logits.view(b, h, t, n).softmax(dim=2).view(b, ht, n)
    centred2 = _centred(value_rows(i2t, v2))
    # norm4 of x = s1 X + Y, X = F1 + w1 R1, Y = b1 + w2 V2:
    # |P x|^2 = s1^2 |P F1|^2 + 2 s1 P F1 . b1 + |P b1|^2 + z G z + 2 z . L, with G the Gram matrix of
    # [P R1; P V2] and L = [s1 (R1 . P F1) + R1 . P b1; s1 (V2 . P F1) + V2 . P b1]
    centred_rows1, centred_b1 = _centred(rows1), _centred(b1)
    stacked = torch.cat([centred_rows1, centred2], dim=1)  # B x 2HT x C
    linear = torch.empty_like(z)
    _dot(image.j1_out1_t, v1, out=linear[:, :ht])
    _dot(image.f1_out2_t, v2, out=linear[:, ht:])
    linear.mul_(s1_rows).add_((stacked @ centred_b1).unsqueeze(-1))
    # z G z = z1 G11 z1 + 2 z1 G12 z2 + z2 G22 z2 (z = [z1; z2]): three of the Gram's four blocks
    # (per prompt, where each block is one matrix: a batched product over the halves would copy them)
    gram = stacked @ stacked.transpose(1, 2)
    for i in range(b):
        z1, z2 = z[i, :ht], z[i, ht:]
        linear[i, :ht].addmm_(gram[i, :ht, :ht], z1, alpha=0.5).addmm_(gram[i, :ht, ht:], z2)
        linear[i, ht:].addmm_(gram[i, ht:, ht:], z2, alpha=0.5)
    square = linear.mul_(z).sum(1).mul_(2)  # (linear: spent here)
    # (the rows' out biases, summed over coefficients whose heads each sum to 1)
    square += s1 * s1 * (image.f1_norm + 2 * image.j1_bias1) + 2 * s1 * (image.f1_bias + image.f1_bias2)
    square += centred_b1 @ centred_b1
    norm = second.norm4
    s2 = torch.rsqrt(square / norm.normalized_shape[0] + norm.eps)
    # K2_n = s2 (s1 F2_n + z[:, n] . [P R1; P V2] g2 + P(b1) g2) + b2
    keys = FactoredKeys(image, s1, s2, z, stacked * norm.weight, centred_b1 * norm.weight, norm.bias)
    return queries, keys


@torch.inference_mode()
def final_attention(
    transformer: Any, keys: FactoredKeys, queries: torch.Tensor, tokens: torch.Tensor
) -> torch.Tensor:
    """The transformer's final token-to-image attention and norm over the image tokens `keys`, for the
    prompts' queries after `factored_layers` (B x T x C; tokens: the prompts' tokens, B x T x C). Each
    token attends on its own, so any subset of tokens (the IoU token alone) or of prompts (`select`) may
    be asked for."""
    final, image = transformer.final_attn_token_to_image, keys.image
    h, t = final.num_heads, tokens.shape[1]
    z, s1_rows, s2_rows = keys.z, keys.s1.unsqueeze(1), keys.s2.unsqueeze(1)
    q = _scaled_heads(final.q_proj, queries + tokens, h)
    y = _token_side(final.k_proj.weight, q)  # B x HT x C
    logits = torch.baddbmm((y @ keys.last).unsqueeze(-1), y @ keys.rows.transpose(1, 2), z)
    logits.addcmul_(_dot(image.f2_keys_t, q), s1_rows).mul_(s2_rows).add_(_dot(image.pe_keys_t, q))
    a_s2 = logits.softmax(dim=-1).mul_(s2_rows)  # B x HT x N
    averaged = _average(a_s2 * s1_rows, image.f2_values, t)
    values_t = final.v_proj.weight.T
    mixed = torch.bmm(a_s2, z.transpose(1, 2)) @ (keys.rows @ values_t)
    mixed += a_s2.sum(-1, keepdim=True) * (keys.last @ values_t)
    constant = final.v_proj(keys.bias).view(h, 1, -1)
    attn_out = _attention_out(final, averaged + _own_heads(mixed, h, t) + constant)
    return transformer.norm_final_attn(queries + attn_out)
