"""Segment Anything: build the model for a variant and load a `.pth` checkpoint safely."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)

from engine.models.checkpoints import load_state_dict
from engine.models.config import RoleSpec
from engine.models.errors import ModelError
from engine.models.locate import resolve


@dataclass(frozen=True)
class SamSpec:
    """The sizes that define a SAM architecture. The public variants are presets of this."""

    encoder_embed_dim: int = 768
    encoder_depth: int = 12
    encoder_num_heads: int = 12
    encoder_global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    image_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    prompt_embed_dim: int = 256
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    iou_head_hidden_dim: int = 256

    def to_options(self) -> dict[str, Any]:
        options = asdict(self)
        options["encoder_global_attn_indexes"] = list(self.encoder_global_attn_indexes)
        return options


SAM_VARIANTS = {
    "vit_b": SamSpec(),
    "vit_l": SamSpec(1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": SamSpec(1280, 32, 16, (7, 15, 23, 31)),
}


def spec_from_role(role: RoleSpec) -> SamSpec:
    variant = role.option("variant", "vit_b")
    if variant in SAM_VARIANTS:
        return SAM_VARIANTS[variant]
    if variant != "custom":
        raise ModelError(f"Model 'sam': unknown variant {variant!r}; use vit_b, vit_l, vit_h or custom.")
    fields = SamSpec.__dataclass_fields__
    sizes = {k: v for k, v in role.options.items() if k in fields}
    if "encoder_global_attn_indexes" in sizes:
        sizes["encoder_global_attn_indexes"] = tuple(sizes["encoder_global_attn_indexes"])
    return SamSpec(**sizes)


def build_sam(spec: SamSpec) -> Sam:
    """An untrained SAM of the given sizes (as segment_anything's `_build_sam`, with every size open)."""
    grid = spec.image_size // spec.patch_size
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=spec.encoder_depth,
            embed_dim=spec.encoder_embed_dim,
            img_size=spec.image_size,
            mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=spec.encoder_num_heads,
            patch_size=spec.patch_size,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=spec.encoder_global_attn_indexes,
            window_size=spec.window_size,
            out_chans=spec.prompt_embed_dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=spec.prompt_embed_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(spec.image_size, spec.image_size),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=spec.decoder_depth,
                embedding_dim=spec.prompt_embed_dim,
                mlp_dim=spec.decoder_mlp_dim,
                num_heads=spec.decoder_num_heads,
            ),
            transformer_dim=spec.prompt_embed_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=spec.iou_head_hidden_dim,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )


def load_sam(role: RoleSpec, device: torch.device) -> Sam:
    spec = spec_from_role(role)
    path = resolve(role, want_dir=False)
    state = load_state_dict(path, "sam")
    model = build_sam(spec)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        variant = role.option("variant", "vit_b")
        raise ModelError(
            f"Model 'sam': {path} does not match variant {variant!r} "
            f"(set `variant` in models.toml to the checkpoint's: vit_b, vit_l or vit_h). {str(error)[:300]}"
        ) from error
    return model.to(device).eval()
