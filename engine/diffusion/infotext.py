"""The AUTOMATIC1111 `parameters` text of our generated and enhanced images, field by field as A1111 1.10
and its extensions write them, so "Send to txt2img/inpaint", sd-webui-controlnet's paste handler,
Civitai and sd-parsers re-create the run:

- LoRAs as `<lora:NAME:SCALE>` in the prompt (the built-in Lora extension reads only the tag) and
  `Lora hashes: "NAME: HASH12, ..."` (extensions-builtin/Lora);
- `Model hash` + `Model` (the checkpoint file's stem, or the diffusers folder's name);
- `Sampler` + `Schedule type` (engine/diffusion/samplers.py);
- `RNG: CPU`: our noise always comes from a CPU generator (A1111 assumes GPU noise when it is absent);
- `ControlNet 0`: sd-webui-controlnet's 11 infotext fields (internal_controlnet/args.py
  `ControlNetUnit.infotext_fields`), with a preprocessor name it accepts and `Model: NAME [hash8]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.diffusion.lora import LoraSpec
from engine.diffusion.samplers import a1111_sampler
from engine.imaging.outputs import format_parameters
from engine.models.hashes import checkpoint_shorthash, controlnet_hash, lora_shorthash

# Our depth kinds (models.toml `[depth] kind`) → sd-webui-controlnet preprocessor names. The default
# transformers model is DPT-Hybrid, i.e. MiDaS v3; a Depth Anything folder gets its own module.
DEPTH_MODULES = {
    "midas": "depth_midas",
    "leres": "depth_leres",
    "zoe": "depth_zoe",
    "transformers": "depth_midas",
}


def depth_module(kind: str, model_name: str = "") -> str:
    """The sd-webui-controlnet module for our depth estimator."""
    name = model_name.lower().replace("_", "-")
    if kind == "transformers" and "depth-anything" in name:
        return "depth_anything_v2" if "v2" in name else "depth_anything"
    return DEPTH_MODULES.get(kind, "depth_midas")


def lora_alias(spec: LoraSpec) -> str:
    # A1111 strips ':' and ',' from the name in `Lora hashes`; the same name goes in the prompt tag.
    return spec.path.stem.replace(":", "").replace(",", "")


def lora_tags(loras: Iterable[LoraSpec]) -> str:
    """` <lora:NAME:SCALE>` per LoRA, to append to the prompt."""
    return "".join(f" <lora:{lora_alias(spec)}:{spec.scale:g}>" for spec in loras)


def lora_hashes(loras: Iterable[LoraSpec]) -> str:
    return ", ".join(f"{lora_alias(spec)}: {lora_shorthash(spec.path)}" for spec in loras)


def model_path(registry: Any, role: str) -> Path:
    """The local file or folder of a role's weights (a hub id resolved from the local cache)."""
    spec = registry.config.spec(role)
    local = spec.local_path()
    if local.exists():
        return local
    from engine.models.locate import resolve

    try:
        return resolve(spec)
    except Exception:  # a model we just ran is resolvable; if not, name it without a hash
        return Path(spec.path)


def model_name(path: Path) -> str:
    """`Model`: a checkpoint file's stem, a folder's name; a hub model's repository name (not the
    snapshot folder's commit hash: `models--OWNER--NAME/snapshots/SHA`)."""
    if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
        return path.parent.parent.name.split("--")[-1]
    return path.stem if path.is_file() else path.name


def controlnet_unit(
    module: str, control_path: Path, weight: float, processor_res: int, *, guidance_end: float = 1.0
) -> str:
    """`ControlNet N` value: sd-webui-controlnet's `ControlNetUnit.serialize` layout (no ',' or ':'
    inside a value, or the extension drops the unit)."""
    digest = controlnet_hash(control_path) if control_path.exists() else None
    model = model_name(control_path) + (f" [{digest}]" if digest else "")
    fields = {
        "Module": module,
        "Model": model,
        "Weight": f"{weight:g}",
        "Resize Mode": "Crop and Resize",
        "Processor Res": processor_res,
        "Threshold A": -1,  # -1: the preprocessor's default (depth modules have no thresholds)
        "Threshold B": -1,
        "Guidance Start": 0.0,
        "Guidance End": float(guidance_end),
        "Pixel Perfect": False,
        "Control Mode": "Balanced",
    }
    return ", ".join(
        f"{key}: {str(value).replace(',', ' ').replace(':', ' ')}" for key, value in fields.items()
    )


def generation_parameters(
    prompt: str,
    negative_prompt: str,
    *,
    loras: Iterable[LoraSpec],
    steps: int,
    sampler: str,
    cfg_scale: float,
    seed: int,
    size: tuple[int, int],
    checkpoint: Path,
    extra: dict[str, Any] | None = None,
    controlnet: str | None = None,
) -> str:
    """The full `parameters` text. `prompt` is the prompt as run; the LoRA tags are appended here."""
    loras = list(loras)
    sampler_name, schedule = a1111_sampler(sampler)
    fields: dict[str, Any] = dict(extra or {})
    if controlnet:
        fields["ControlNet 0"] = controlnet
    fields["RNG"] = "CPU"
    if loras:
        fields["Lora hashes"] = lora_hashes(loras)
    return format_parameters(
        prompt + lora_tags(loras),
        negative_prompt,
        steps=steps,
        sampler=sampler_name,
        schedule_type=schedule,
        cfg_scale=cfg_scale,
        seed=seed,
        size=size,
        model=model_name(checkpoint),
        model_hash=checkpoint_shorthash(checkpoint) if checkpoint.exists() else None,
        extra=fields,
    )
