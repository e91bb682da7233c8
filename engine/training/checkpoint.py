"""Training checkpoints: the LoRA file of an epoch (kohya format) and the resume state (weights, optimizer,
learning-rate schedule, random generator, step), both written atomically.

The resume state is read back with `torch.load(weights_only=True)`: tensors and plain containers only.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch

from engine.runtime.atomic import atomic_save
from engine.training.config import TrainingError
from engine.training.kohya import kohya_state_dict, save_kohya_lora

STATE_FORMAT = "shootstudio-lora-train/1"


def trainable_state(trainer: Any) -> dict[str, torch.Tensor]:
    names = {"unet": trainer.parts.unet, "text_encoder": trainer.parts.text_encoder}
    return {
        f"{prefix}.{name}": p.detach().cpu().clone()
        for prefix, model in names.items()
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def save_lora(trainer: Any, path: Path, epoch: int) -> Path:
    state = kohya_state_dict(
        trainer.parts.unet,
        trainer.parts.text_encoder if trainer.config.train_text_encoder else None,
        trainer.config.lora_alpha,
    )
    return save_kohya_lora(path, state, kohya_metadata(trainer, epoch))


def kohya_metadata(trainer: Any, epoch: int) -> dict[str, str]:
    c = trainer.config
    return {
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(c.rank),
        "ss_network_alpha": f"{c.lora_alpha:g}",
        "ss_base_model_version": "sd_v1",
        "ss_sd_model_name": trainer.parts.model_name,
        "ss_output_name": c.out.stem,
        "ss_resolution": f"({c.resolution}, {c.resolution})",
        "ss_enable_bucket": "True",
        "ss_num_train_images": str(len(trainer.data.images) * c.repeats),
        "ss_num_epochs": str(c.epochs),
        "ss_epoch": str(epoch),
        "ss_steps": str(trainer.step),
        "ss_batch_size_per_device": str(c.batch_size),
        "ss_learning_rate": f"{c.learning_rate:g}",
        "ss_text_encoder_lr": f"{c.text_encoder_lr:g}",
        "ss_network_train_unet_only": str(not c.train_text_encoder),
        "ss_seed": str(c.seed),
        "ss_tag_frequency": json.dumps({f"{c.repeats}_{c.tag}": trainer.data.tag_frequency()}),
        "ss_training_comment": f"ShootStudio; activation tag: {c.tag}",
    }


def save_resume_state(trainer: Any) -> Path:
    state = {
        "format": STATE_FORMAT,
        "step": trainer.step,
        "losses": list(trainer.losses),
        "compatibility": trainer.config.compatibility(trainer.data),
        "weights": trainable_state(trainer),
        "optimizer": trainer.optimizer.state_dict(),
        "lr_scheduler": trainer.lr_scheduler.state_dict(),
        "generator": trainer.generator.get_state(),
        "scaler": trainer.scaler.state_dict() if trainer.scaler is not None else {},
    }
    return atomic_save(trainer.config.resume_file, lambda handle: torch.save(state, handle))


def load_resume_state(trainer: Any, path: Path) -> None:
    try:  # untrusted file: plain tensors and containers only
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # torch's advice to set weights_only=False is not for users
        raise TrainingError(
            f"{path.name}: refused: it needs arbitrary code to load (unsafe pickle); "
            "resume only from a .resume.pt this app wrote"
        ) from error
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TrainingError(f"{path.name} is not a ShootStudio training checkpoint ({first})") from error
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise TrainingError(f"{path.name} is not a ShootStudio training checkpoint.")
    wanted, saved = trainer.config.compatibility(trainer.data), state["compatibility"]
    differences = [
        f"{k}: checkpoint {saved.get(k)!r}, now {v!r}" for k, v in wanted.items() if saved.get(k) != v
    ]
    if differences:
        raise TrainingError(f"Cannot resume from {path.name}; settings differ ({'; '.join(differences)}).")
    current = {
        f"{prefix}.{n}": p
        for prefix, m in (("unet", trainer.parts.unet), ("text_encoder", trainer.parts.text_encoder))
        for n, p in m.named_parameters()
        if p.requires_grad
    }
    with torch.no_grad():
        for name, parameter in current.items():
            parameter.copy_(state["weights"][name])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.lr_scheduler.load_state_dict(state["lr_scheduler"])
    if trainer.scaler is not None and state["scaler"]:
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.generator.set_state(state["generator"])
    trainer.step = int(state["step"])
    trainer.losses[:] = [float(x) for x in state["losses"]]
