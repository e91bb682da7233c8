"""SAM's image encoder, made fast without changing its weights or (beyond float rounding) its results.

- Attention runs through `F.scaled_dot_product_attention` (a fused kernel: no 4,096 x 4,096 softmax
  tensor per head is written and read back three times), with SAM's decomposed relative position bias
  passed as the additive attention mask. The bias uses the unscaled queries, as the library's does.
- A global-attention layer's mask is made a few heads at a time, so its peak memory stays below the
  library's own attention matrix; within one `encode` pass every layer writes its mask into the same
  memory (a fresh 134 MB mask each time spent ~80% of its time in page faults).
- bf16 (CPUs with native bf16) or fp16 (CUDA) autocast around the whole encoder: `encode(..., dtype)`.

```python
accelerate_encoder(sam.image_encoder)            # once, after loading (idempotent)
features = encode(sam, batch, torch.bfloat16)   # 1 x 256 x 64 x 64 float32
```
"""

from __future__ import annotations

import contextlib
import threading
import types
from typing import Any

import torch
import torch.nn.functional as F
from segment_anything.modeling.image_encoder import Attention, get_rel_pos

# Heads per call in global attention: 4 heads' bias masks at 4,096 tokens are 256 MB in fp32.
_HEADS_PER_CALL = 4
GLOBAL_TOKENS = 1024  # above this many tokens a layer is global attention (vit_b's windows have 196)


# The bias masks of one forward pass (`encode`), by shape: written into the same memory layer after layer
# instead of a fresh array each time (a fresh 134 MB mask for 4 heads of a global layer took 162 ms to
# write, nearly all page faults; 27 ms into memory already written once). Freed when the pass ends.
_pass = threading.local()


@contextlib.contextmanager
def _masks_kept_for_the_pass():
    _pass.masks = {}
    try:
        yield
    finally:
        _pass.masks = None


def _mask_memory(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    kept = getattr(_pass, "masks", None)
    if kept is None or torch.compiler.is_compiling():  # outside `encode`, or traced: a fresh tensor
        return torch.empty(shape, dtype=like.dtype, device=like.device)
    key = (shape, like.dtype, like.device)
    if key not in kept:
        kept[key] = torch.empty(shape, dtype=like.dtype, device=like.device)
    return kept[key]


def _rel_pos_mask(attn: Attention, q: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """SAM's decomposed relative position bias for queries q (B x heads x HW x d) as an additive
    B x heads x HW x HW mask (segment_anything's add_decomposed_rel_pos, without the attention map),
    written once, contiguous, in q's dtype (into the pass's kept memory inside `encode`)."""
    h, w = hw
    b, n, _, d = q.shape
    rel_h_table = get_rel_pos(h, h, attn.rel_pos_h).to(q.dtype)  # h x kh x d
    rel_w_table = get_rel_pos(w, w, attn.rel_pos_w).to(q.dtype)  # w x kw x d
    r_q = q.reshape(b * n, h, w, d)
    # rel_h[., y, x, kh] = r_q[., y, x, :] . table_h[y, kh, :]: a product batched over y (and x for w)
    rel_h = torch.bmm(r_q.permute(1, 0, 2, 3).reshape(h, -1, d), rel_h_table.transpose(1, 2))
    rel_h = rel_h.view(h, b * n, w, h).permute(1, 0, 2, 3)  # (B n) x y x x x kh
    rel_w = torch.bmm(r_q.permute(2, 0, 1, 3).reshape(w, -1, d), rel_w_table.transpose(1, 2))
    rel_w = rel_w.view(w, b * n, h, w).permute(1, 2, 0, 3)  # (B n) x y x x x kw
    if rel_h.requires_grad:  # (a written-into tensor cannot be differentiated)
        return (rel_h[..., :, None] + rel_w[..., None, :]).reshape(b, n, h * w, h * w)
    mask = _mask_memory((b * n, h, w, h, w), rel_h)
    torch.add(rel_h[..., :, None], rel_w[..., None, :], out=mask)  # (B n) x y x x x kh x kw
    return mask.view(b, n, h * w, h * w)


def _attention_in_mask(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + mask) v for B x heads x N x d, with the N x N scores written over the
    mask (contiguous, in q's dtype; the softmax accumulates in float32). For global attention on a CPU:
    two batched products and an in-place softmax over memory already written ran 97 ms for 4 heads at
    4,096 tokens in bf16, where the fused kernel with the mask took 148 ms."""
    b, n, tokens, d = q.shape
    scores = mask.view(b * n, tokens, tokens)
    scores.baddbmm_(q.reshape(b * n, tokens, d), k.reshape(b * n, tokens, d).transpose(1, 2), alpha=d**-0.5)
    torch.softmax(scores, -1, out=scores)
    return torch.bmm(scores, v.reshape(b * n, tokens, d)).view(b, n, tokens, d)


def fast_attention_forward(self: Attention, x: torch.Tensor) -> torch.Tensor:
    """segment_anything's image encoder `Attention.forward` through the fused attention kernel.
    x: B x H x W x C (channels last, as the library's). Returns the same shape."""
    b, h, w, _ = x.shape
    qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)  # B x heads x HW x d
    if not self.use_rel_pos:
        out = F.scaled_dot_product_attention(q, k, v)
    else:
        step = _HEADS_PER_CALL if h * w > GLOBAL_TOKENS else self.num_heads
        parts = []
        for start in range(0, self.num_heads, step):
            heads = slice(start, start + step)
            qh = q[:, heads]
            mask = _rel_pos_mask(self, qh, (h, w))
            if h * w > GLOBAL_TOKENS and not mask.requires_grad:
                parts.append(_attention_in_mask(qh, k[:, heads], v[:, heads], mask))
            else:
                parts.append(F.scaled_dot_product_attention(qh, k[:, heads], v[:, heads], attn_mask=mask))
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
    out = out.view(b, self.num_heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
    return self.proj(out)


def accelerate_encoder(encoder: torch.nn.Module) -> torch.nn.Module:
    """Route every attention layer of a segment_anything `ImageEncoderViT` through the fused kernel, and
    keep the convolutions channels-last. Same weights; returns the encoder (changed in place)."""
    for module in encoder.modules():
        if isinstance(module, Attention) and not getattr(module, "_fast_attention", False):
            module.forward = types.MethodType(fast_attention_forward, module)
            module._fast_attention = True
    encoder.to(memory_format=torch.channels_last)
    return encoder


def restore_encoder(encoder: torch.nn.Module) -> torch.nn.Module:
    """Undo `accelerate_encoder` (the library's attention again): for comparisons."""
    for module in encoder.modules():
        if isinstance(module, Attention) and getattr(module, "_fast_attention", False):
            del module.forward
            module._fast_attention = False
    return encoder


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """torch.autocast for a reduced precision on `device`; nothing for float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@torch.inference_mode()
def encode(
    model: Any, batch: torch.Tensor, dtype: torch.dtype = torch.float32, check: Any = None
) -> torch.Tensor:
    """SAM's image embedding of a preprocessed batch (B x 3 x S x S, normalised and padded, as
    `Sam.preprocess` returns), in `dtype` autocast. Returns B x 256 x S/16 x S/16 float32.

    `check()` runs before each transformer block (a cancellation check: a second or less apart)."""
    batch = batch.contiguous(memory_format=torch.channels_last)
    hooks = []
    if check is not None:
        for block in getattr(model.image_encoder, "blocks", []):
            hooks.append(block.register_forward_pre_hook(lambda module, args: check()))
    try:
        with autocast(batch.device, dtype), _masks_kept_for_the_pass():
            features = model.image_encoder(batch)
    finally:
        for hook in hooks:
            hook.remove()
    return features.float().contiguous()


def compile_encoder(model: Any) -> Any:
    """A copy-free view of `model` whose image encoder runs through `torch.compile` (Inductor). The build
    happens on the first call (about two minutes on a small CPU; torch caches it across runs); if it fails
    there (no C++ toolchain, an unsupported platform or op), that call and every later one run the eager
    encoder instead, so compiling can only cost time, never an embedding."""
    try:
        compiled = torch.compile(model.image_encoder, dynamic=False)
    except (RuntimeError, ImportError, AttributeError):
        return model
    return _WithEncoder(model, _CompiledOrEager(compiled, model.image_encoder))


class _CompiledOrEager(torch.nn.Module):
    """The compiled encoder until it first fails to build; the eager one from then on."""

    def __init__(self, compiled: Any, eager: torch.nn.Module):
        super().__init__()
        self.compiled, self.eager = compiled, eager
        self.failure: str | None = None  # why compiling failed, for a caller to report
        self.blocks = []  # no per-block cancellation hooks: they would break the compiled graph

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if self.failure is None:
            try:
                return self.compiled(batch)
            except Exception as error:  # a compiler failure means: run eager; others go on
                if not _is_compile_failure(error):
                    raise
                self.failure = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        return self.eager(batch)


def _is_compile_failure(error: Exception) -> bool:
    """An error raised by the compiler stack (dynamo, inductor, the C++ build), not by the model."""
    module = type(error).__module__
    return module.startswith(("torch._dynamo", "torch._inductor")) or "CompileError" in type(error).__name__


class _WithEncoder:
    """`model` with another image encoder: what `encode` needs (`image_encoder`), the rest passed on."""

    def __init__(self, model: Any, encoder: Any):
        self._model, self.image_encoder = model, encoder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)
