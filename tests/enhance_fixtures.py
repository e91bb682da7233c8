"""Test inputs for enhancement: images in awkward formats, masks, LoRA files in both formats, and a
single-file (original Stable Diffusion layout) checkpoint made from the tiny diffusers inpainting model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# --- single-file checkpoints -------------------------------------------------------------------------
# The reverse of diffusers' single-file conversion (diffusers ships LDM → diffusers only); the key
# names follow diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py, generalised to any
# number of blocks and layers so the tiny model can be written in the layout AUTOMATIC1111 uses.

_RESNET = [
    ("in_layers.0", "norm1"),
    ("in_layers.2", "conv1"),
    ("out_layers.0", "norm2"),
    ("out_layers.3", "conv2"),
    ("emb_layers.1", "time_emb_proj"),
    ("skip_connection", "conv_shortcut"),
]


def _unet_to_ldm(state: dict, config: dict) -> dict:
    per = config["layers_per_block"]
    blocks = len(config["block_out_channels"])
    prefixes = [
        ("time_embed.0.", "time_embedding.linear_1."),
        ("time_embed.2.", "time_embedding.linear_2."),
        ("input_blocks.0.0.", "conv_in."),
        ("out.0.", "conv_norm_out."),
        ("out.2.", "conv_out."),
        ("middle_block.1.", "mid_block.attentions.0."),
    ]
    prefixes += [(f"middle_block.{2 * j}.", f"mid_block.resnets.{j}.") for j in range(2)]
    for i in range(blocks):
        for j in range(per):
            index = (per + 1) * i + j + 1
            prefixes.append((f"input_blocks.{index}.0.", f"down_blocks.{i}.resnets.{j}."))
            prefixes.append((f"input_blocks.{index}.1.", f"down_blocks.{i}.attentions.{j}."))
        prefixes.append(
            (f"input_blocks.{(per + 1) * (i + 1)}.0.op.", f"down_blocks.{i}.downsamplers.0.conv.")
        )
        has_attention = config["up_block_types"][i].startswith("CrossAttn")
        for j in range(per + 1):
            index = (per + 1) * i + j
            prefixes.append((f"output_blocks.{index}.0.", f"up_blocks.{i}.resnets.{j}."))
            prefixes.append((f"output_blocks.{index}.1.", f"up_blocks.{i}.attentions.{j}."))
        upsample = f"output_blocks.{(per + 1) * i + per}.{2 if has_attention else 1}."
        prefixes.append((upsample, f"up_blocks.{i}.upsamplers.0."))
    out = {}
    for key, value in state.items():
        new = key
        for ldm, hf in prefixes:
            if key.startswith(hf):
                new = ldm + key[len(hf) :]
                break
        if ".resnets." in key:
            for ldm, hf in _RESNET:
                new = new.replace(hf, ldm)
        out["model.diffusion_model." + new] = value
    return out


def _vae_to_ldm(state: dict, config: dict) -> dict:
    blocks = len(config["block_out_channels"])
    pairs = [
        ("nin_shortcut", "conv_shortcut"),
        ("norm_out", "conv_norm_out"),
        ("mid.attn_1.", "mid_block.attentions.0."),
    ]
    for i in range(blocks):
        pairs.append((f"down.{i}.downsample.", f"down_blocks.{i}.downsamplers.0."))
        pairs.append((f"up.{blocks - 1 - i}.upsample.", f"up_blocks.{i}.upsamplers.0."))
        for j in range(config["layers_per_block"] + 1):
            pairs.append((f"down.{i}.block.{j}.", f"down_blocks.{i}.resnets.{j}."))
            pairs.append((f"up.{blocks - 1 - i}.block.{j}.", f"up_blocks.{i}.resnets.{j}."))
    pairs += [(f"mid.block_{j + 1}.", f"mid_block.resnets.{j}.") for j in range(2)]
    attention = [
        ("norm.", "group_norm."),
        ("q.", "to_q."),
        ("k.", "to_k."),
        ("v.", "to_v."),
        ("proj_out.", "to_out.0."),
    ]
    out = {}
    for key, value in state.items():
        new = key
        for ldm, hf in pairs:
            new = new.replace(hf, ldm)
        if "attn_1." in new:
            for ldm, hf in attention:
                new = new.replace("attn_1." + hf, "attn_1." + ldm)
            if value.ndim == 2:  # linear in diffusers, 1×1 conv in the original
                value = value[:, :, None, None]
        out["first_stage_model." + new] = value
    return out


def write_single_file_checkpoint(diffusers_folder: Path, target: Path) -> Path:
    """A `.safetensors` in the original SD layout (as A1111 loads it) from a diffusers pipeline folder."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextModel

    unet = UNet2DConditionModel.from_pretrained(diffusers_folder / "unet")
    vae = AutoencoderKL.from_pretrained(diffusers_folder / "vae")
    text = CLIPTextModel.from_pretrained(diffusers_folder / "text_encoder")
    state = _unet_to_ldm(unet.state_dict(), dict(unet.config))
    state |= _vae_to_ldm(vae.state_dict(), dict(vae.config))
    for key, value in text.state_dict().items():
        inner = key if key.startswith("text_model.") else "text_model." + key
        state["cond_stage_model.transformer." + inner] = value
    save_file({k: v.contiguous() for k, v in state.items()}, str(target))
    return target


def config_folder_for(diffusers_folder: Path, target: Path) -> Path:
    """A configs-only copy of a diffusers pipeline folder (what `[inpaint] config = ...` points at)."""
    for path in diffusers_folder.rglob("*.json"):
        relative = path.relative_to(diffusers_folder)
        if relative.parts[0] == "tokenizer":
            continue  # the loader derives SD's tokenizer itself when the config folder has none
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(path.read_text())
    return target


# --- LoRA files ----------------------------------------------------------------------------------------


def write_peft_lora(unet_folder: Path, path: Path, seed: int = 0, rank: int = 4) -> Path:
    """A diffusers/peft-format LoRA for the UNet at `unet_folder`, with large random weights (so it
    visibly acts). Built on a private copy of the UNet so no shared pipeline is touched."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = UNet2DConditionModel.from_pretrained(str(unet_folder))
    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    unet.add_adapter(config)
    state = get_peft_model_state_dict(unet)
    state = {key: torch.randn_like(value) * 0.5 for key, value in state.items()}
    StableDiffusionPipeline.save_lora_weights(
        str(path.parent), unet_lora_layers=state, weight_name=path.name, safe_serialization=True
    )
    return path


def write_kohya_lora(peft_path: Path, path: Path) -> Path:
    """The same weights in the kohya (AUTOMATIC1111) key format: `lora_unet_..._to_q.lora_down.weight`."""
    from diffusers.utils import convert_state_dict_to_kohya
    from safetensors.torch import load_file, save_file

    kohya = convert_state_dict_to_kohya(load_file(str(peft_path)))  # "unet.x.y" → "lora_unet_x_y"
    assert all(key.startswith("lora_unet_") for key in kohya), list(kohya)[:3]
    save_file({k: v.contiguous() for k, v in kohya.items()}, str(path))
    return path


# --- images ---------------------------------------------------------------------------------------------


def textured_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 / width, yy * 255 / height, (xx + yy) * 127 / (width + height)], axis=2)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def box_mask(height: int, width: int, box: tuple[int, int, int, int]) -> np.ndarray:
    left, top, right, bottom = box
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[top:bottom, left:right] = 255
    return mask


def save_mask(mask: np.ndarray, path: Path) -> Path:
    Image.fromarray(mask, "L").save(path)
    return path


def write_models_toml(path: Path, roles: dict) -> Path:
    lines = []
    for role, entry in roles.items():
        lines.append(f"[{role}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
    path.write_text("\n".join(lines) + "\n")
    return path
