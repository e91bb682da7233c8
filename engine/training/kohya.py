"""Write a trained peft LoRA as the kohya `.safetensors` that the AUTOMATIC1111 web UI (and diffusers,
ComfyUI, kohya's scripts) load.

The key format, as A1111's `extensions-builtin/Lora/networks.py` reads it for SD 1.5:
`lora_unet_<diffusers module path, dots → underscores>.lora_down.weight` / `.lora_up.weight` / `.alpha`,
and `lora_te_text_model_encoder_layers_<n>_<...>` for the text encoder (SDXL files use `lora_te1_`).
A1111 maps those names to its own (CompVis) module names; `alpha / rank` is the scale, as peft's
`lora_alpha / r`. diffusers' `convert_state_dict_to_kohya` does the renaming; this module only fixes the
SD 1.5 text-encoder prefix and writes the training's own alpha (diffusers writes alpha = rank).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, inject_adapter_in_model

from engine.runtime.atomic import atomic_write_bytes

UNET_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]  # the attention projections, as diffusers' scripts
TEXT_ENCODER_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]


def add_lora_adapters(
    unet: Any, text_encoder: Any | None, rank: int, alpha: float, init: bool = True
) -> None:
    """peft LoRA layers on the UNet's (and optionally the text encoder's) attention projections.

    `init=True`: B = 0, so the model starts exactly as the base; False: random (for tests)."""

    def config(targets: list[str]) -> LoraConfig:
        return LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, init_lora_weights=init)

    unet.add_adapter(config(UNET_TARGETS))
    if text_encoder is not None:
        # peft's own injection: transformers' `add_adapter` demands peft ≥ 0.22, newer than PyPI has.
        inject_adapter_in_model(config(TEXT_ENCODER_TARGETS), text_encoder)


def kohya_state_dict(
    unet: Any, text_encoder: Any | None, alpha: float, dtype: torch.dtype = torch.float16
) -> dict[str, torch.Tensor]:
    """The LoRA layers of `unet` (and `text_encoder`, when it has them) in kohya keys."""
    from diffusers.utils import convert_state_dict_to_kohya
    from peft.utils import get_peft_model_state_dict

    peft_state = {f"unet.{k}": v for k, v in get_peft_model_state_dict(unet).items()}
    if text_encoder is not None and getattr(text_encoder, "peft_config", None):
        peft_state.update(
            {f"text_encoder.{k}": v for k, v in get_peft_model_state_dict(text_encoder).items()}
        )
    kohya = convert_state_dict_to_kohya(peft_state)
    result = {}
    for key, value in kohya.items():
        key = key.replace("lora_te1_", "lora_te_", 1)  # SD 1.5 has one text encoder: `lora_te_`
        if key.startswith("lora_te_") and not key.startswith("lora_te_text_model_"):
            # transformers ≥ 5.6 dropped CLIPTextModel's `text_model.` level; kohya and A1111 keep it.
            key = "lora_te_text_model_" + key.removeprefix("lora_te_")
        if key.endswith(".alpha"):
            value = torch.tensor(float(alpha))
        else:
            value = value.detach().to("cpu", dtype).contiguous()
        result[key] = value
    return result


def save_kohya_lora(path: Path, state: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """Write atomically: a cancelled or failed save never leaves half a LoRA file."""
    from safetensors.torch import save

    return atomic_write_bytes(path, save(state, metadata={k: str(v) for k, v in metadata.items()}))
