"""The fast SAM image encoder (engine/segment/encoder.py): the library's results through fused attention,
a compiled encoder that falls back to eager when the compiler fails, and the click's thread limit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.models.sam import SamSpec, build_sam
from engine.runtime.device import torch_threads
from engine.runtime.embedding_cache import EmbeddingCache
from engine.segment import encoder as encoder_module
from engine.segment import session as session_module
from engine.segment.encoder import accelerate_encoder, compile_encoder, encode, restore_encoder
from engine.segment.session import SamSession

# Windowed and global attention both, with a window that needs padding (8 x 8 tokens, windows of 3).
SPEC = SamSpec(
    encoder_embed_dim=32,
    encoder_depth=2,
    encoder_num_heads=2,
    encoder_global_attn_indexes=(1,),
    image_size=128,
    window_size=3,
    prompt_embed_dim=32,
    decoder_mlp_dim=64,
    decoder_num_heads=2,
    iou_head_hidden_dim=32,
)


@pytest.fixture
def sam():
    torch.manual_seed(0)
    model = build_sam(SPEC).eval()
    for name, parameter in model.named_parameters():
        if "rel_pos" in name:  # untrained tables are zeros: make the bias matter
            torch.nn.init.normal_(parameter, std=0.5)
    return model


@pytest.fixture
def batch():
    return torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(1))


def test_fused_attention_equals_the_library_encoder(sam, batch):
    library = encode(sam, batch)
    accelerate_encoder(sam.image_encoder)
    attention = [m for m in sam.image_encoder.modules() if type(m).__name__ == "Attention"]
    assert len(attention) == 2 and all(m._fast_attention for m in attention)
    fast = encode(sam, batch)
    assert fast.shape == library.shape == (1, 32, 8, 8)
    torch.testing.assert_close(fast, library, rtol=1e-5, atol=1e-5)
    restore_encoder(sam.image_encoder)
    torch.testing.assert_close(encode(sam, batch), library, rtol=0, atol=0)


def test_bf16_encoder_stays_close_to_float32(sam, batch):
    accelerate_encoder(sam.image_encoder)
    exact = encode(sam, batch)
    reduced = encode(sam, batch, torch.bfloat16)
    assert reduced.dtype == torch.float32
    assert float((reduced - exact).norm() / exact.norm()) < 0.05


class CppCompileError(Exception):
    """Shaped like inductor's: raised from the compiler stack's module."""


CppCompileError.__module__ = "torch._inductor.exc"


def test_compiled_encoder_falls_back_to_eager_when_the_build_fails(sam, batch, monkeypatch):
    accelerate_encoder(sam.image_encoder)
    eager = encode(sam, batch)
    calls = []

    def failing_build(_batch):
        calls.append(1)
        raise CppCompileError("no C++ compiler")

    monkeypatch.setattr(encoder_module.torch, "compile", lambda module, **kw: failing_build)
    compiled = compile_encoder(sam)
    torch.testing.assert_close(encode(compiled, batch), eager, rtol=0, atol=0)
    assert "no C++ compiler" in compiled.image_encoder.failure
    encode(compiled, batch)
    assert calls == [1]  # the build is not tried again


def test_an_error_of_the_model_itself_is_not_hidden_by_the_fallback(sam, batch, monkeypatch):
    def broken(_batch):
        raise ValueError("shape mismatch")

    monkeypatch.setattr(encoder_module.torch, "compile", lambda module, **kw: broken)
    with pytest.raises(ValueError, match="shape mismatch"):
        encode(compile_encoder(sam), batch)


def test_torch_threads_limits_and_restores():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(before + 4):  # never raises the count
        assert torch.get_num_threads() == before


def test_a_click_runs_on_one_cpu_thread(tiny_registry, tmp_path, monkeypatch):
    session = SamSession(tiny_registry, EmbeddingCache(tmp_path))
    rgb = np.full((48, 64, 3), 200, np.uint8)
    session.set_image("img", rgb)
    seen = []
    decode = session_module.decode_best

    def recording(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return decode(*args, **kwargs)

    monkeypatch.setattr(session_module, "decode_best", recording)
    before = torch.get_num_threads()
    found = session.predict_click(points=[[32, 24]], labels=[1])
    assert seen == [session_module.CLICK_CPU_THREADS]
    assert torch.get_num_threads() == before
    assert found.size_hw == (48, 64)


def test_a_session_embeds_through_the_compiled_encoder_when_asked(tiny_registry, monkeypatch):
    calls = []

    def recording_compile(module, **kwargs):
        def run(batch):
            calls.append(tuple(batch.shape))
            return module(batch)

        return run

    monkeypatch.setattr(encoder_module.torch, "compile", recording_compile)
    rgb = np.full((48, 64, 3), 120, np.uint8)
    plain, _ = SamSession(tiny_registry)._compute(rgb)
    assert calls == []
    compiled, _ = SamSession(tiny_registry, compile_encoder=True)._compute(rgb)
    assert len(calls) == 1
    torch.testing.assert_close(compiled, plain, rtol=0, atol=0)


def test_bias_masks_share_memory_within_a_pass_and_none_is_kept_after(sam, batch):
    accelerate_encoder(sam.image_encoder)
    global_attention = sam.image_encoder.blocks[1].attn  # 8 x 8 tokens, 2 heads
    q = torch.randn(1, 2, 64, 16, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode(), encoder_module._masks_kept_for_the_pass():  # as in `encode`
        first = encoder_module._rel_pos_mask(global_attention, q, (8, 8))
        first_ptr = first.data_ptr()
        again = encoder_module._rel_pos_mask(global_attention, 2 * q, (8, 8))
        assert again.data_ptr() == first_ptr  # the second layer's mask is written where the first's was
        again = again.clone()
    assert encoder_module._pass.masks is None  # freed when the pass ends
    fresh = encoder_module._rel_pos_mask(global_attention, 2 * q, (8, 8))  # outside a pass, with autograd
    torch.testing.assert_close(again, fresh.detach(), rtol=0, atol=0)
    with torch.inference_mode():
        direct = sam.image_encoder(batch.contiguous(memory_format=torch.channels_last)).float()
    torch.testing.assert_close(encode(sam, batch), direct, rtol=0, atol=0)  # kept masks, same values


@pytest.mark.parametrize("in_encode", [False, True])
def test_global_attention_over_1024_tokens_equals_the_library(in_encode):
    """Layers over more than GLOBAL_TOKENS tokens take the scores-in-the-mask path: the library's
    attention to float rounding, inside an `encode` pass (kept masks) and outside it."""
    from segment_anything.modeling.image_encoder import Attention

    torch.manual_seed(3)
    side = 33  # 1,089 tokens
    attention = Attention(64, num_heads=8, use_rel_pos=True, input_size=(side, side)).eval()
    torch.nn.init.normal_(attention.rel_pos_h, std=0.5)
    torch.nn.init.normal_(attention.rel_pos_w, std=0.5)
    x = torch.randn(1, side, side, 64)
    assert side * side > encoder_module.GLOBAL_TOKENS
    with torch.inference_mode():
        library = attention(x)
        context = encoder_module._masks_kept_for_the_pass() if in_encode else torch.inference_mode()
        with context:
            fast = encoder_module.fast_attention_forward(attention, x)
    torch.testing.assert_close(fast, library, rtol=1e-5, atol=1e-5)
