"""First run: find weights already on this machine, where other tools keep them, and offer them in place.

Places looked at (each only if it exists; nothing is copied or modified):
- the Hugging Face cache (`$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`): one folder per
  repository, `models--ORG--NAME/snapshots/REVISION/` (the revision `refs/main` names, else the newest);
- an AUTOMATIC1111 web UI: `models/Stable-diffusion` (single-file checkpoints), `models/ControlNet`
  (and `extensions/sd-webui-controlnet/models`), `models/sam` (sd-webui-segment-anything, also under its
  extension folder), the ControlNet preprocessors in `extensions/sd-webui-controlnet/annotator/downloads`,
  `models/Lora`;
- a ComfyUI install: `models/checkpoints`, `models/controlnet`, `models/clip_vision`, `models/sams`
  (comfyui_segment_anything), `models/diffusers`, `custom_nodes/comfyui_controlnet_aux/ckpts`,
  `models/loras`.

A checkpoint's kind is read from its safetensors header (tensor names and shapes, a few KB), never by
loading it: SD 1.5 inpainting has a 9-channel first UNet convolution and a 768-wide text context; SD 2.x and
SDXL files are skipped. Only weights the loaders in engine/models accept are offered.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.models.errors import ModelError

SOURCE_HF = "Hugging Face cache"

# Folders relative to the install folder (the one holding `models/`), per layout and per kind of file.
A1111_DIRS = {
    "checkpoints": ("models/Stable-diffusion",),
    "controlnet": ("models/ControlNet", "extensions/sd-webui-controlnet/models"),
    "sam": ("models/sam", "extensions/sd-webui-segment-anything/models/sam"),
    "annotators": ("extensions/sd-webui-controlnet/annotator/downloads",),
    "loras": ("models/Lora",),
}
COMFYUI_DIRS = {
    "checkpoints": ("models/checkpoints",),
    "diffusers": ("models/diffusers",),
    "controlnet": ("models/controlnet",),
    "clip_vision": ("models/clip_vision",),
    "sam": ("models/sams",),
    "annotators": ("custom_nodes/comfyui_controlnet_aux/ckpts",),
    "loras": ("models/loras",),
}
# Install folders people commonly have, under the home folder or the drive root (C: on Windows).
COMMON_INSTALLS = (
    "stable-diffusion-webui",
    "stable-diffusion-webui-forge",
    "sd.webui/webui",
    "ComfyUI",
    "ComfyUI_windows_portable/ComfyUI",
    "Documents/ComfyUI",
)
SEARCH_ENV = "SHOOTSTUDIO_MODEL_SEARCH"  # extra install or models folders, os.pathsep-separated

SAM_NAME = re.compile(r"sam_(vit_[bhl])_[0-9a-f]{6}\.pth$")
CLIP_ARCH = re.compile(r"(ViT-[A-Za-z]+-\d+(?:-quickgelu)?)")
DETECTOR_FILES = {"dpt_hybrid-midas-501f0c75.pt": "midas", "res101.pth": "leres", "ZoeD_M12_N.pt": "zoe"}
SD_FIRST_CONV = "model.diffusion_model.input_blocks.0.0.weight"
SD_CONTEXT = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
# SD 1.5's text context is 768 wide; SD 2.x uses 1024 and SDXL 2048 (the tiny test models use 32).
WIDER_CONTEXTS = frozenset({1024, 2048})


@dataclass(frozen=True)
class FoundWeights:
    """Weights on disk that can serve `role` in place: `path` plus the role options that read them."""

    role: str
    path: Path
    source: str  # where it was found: "Hugging Face cache", "AUTOMATIC1111 at /home/me/webui", ...
    label: str  # what it is, for people: "SAM vit_b", "SD 1.5 inpainting (single file)"
    size_bytes: int
    options: dict[str, Any] = field(default_factory=dict)

    def toml_entry(self) -> dict[str, Any]:
        return {"path": str(self.path), **self.options}


@dataclass
class Discovery:
    """What was found, per role (best first), plus LoRA folders and the places looked at."""

    by_role: dict[str, list[FoundWeights]] = field(default_factory=dict)
    lora_folders: list[Path] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)

    def add(self, found: FoundWeights | None) -> None:
        if found is not None and all(f.path != found.path for f in self.by_role.get(found.role, [])):
            self.by_role.setdefault(found.role, []).append(found)

    def best(self) -> dict[str, FoundWeights]:
        return {role: items[0] for role, items in self.by_role.items() if items}


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def default_hf_cache() -> Path:
    from huggingface_hub import constants  # light; reads HF_HOME / HF_HUB_CACHE

    return Path(constants.HF_HUB_CACHE)


def default_install_roots() -> list[Path]:
    """The A1111/ComfyUI folders to look in: `$SHOOTSTUDIO_MODEL_SEARCH` first, then common places."""
    extra = [Path(p).expanduser() for p in os.environ.get(SEARCH_ENV, "").split(os.pathsep) if p]
    home = Path.home()
    common = [base / name for base in (home, Path(home.anchor)) for name in COMMON_INSTALLS]
    return [p for p in [*extra, *common] if p.is_dir()]


def discover(roots: Iterable[Path] | None = None, hf_cache: Path | None = None) -> Discovery:
    """Look in the Hugging Face cache and in each A1111/ComfyUI folder of `roots` (install folders or
    their `models/` folders). Reads folder listings and file headers only; never raises on odd files."""
    result = Discovery()
    cache = default_hf_cache() if hf_cache is None else Path(hf_cache)
    if cache.is_dir():
        result.searched.append(f"{SOURCE_HF} ({cache})")
        _scan_hf_cache(cache, result)
    for root in default_install_roots() if roots is None else roots:
        for kind, install in _layouts(Path(root).expanduser()):
            result.searched.append(f"{kind} at {install}")
            try:
                _scan_install(kind, install, result)
            except OSError:  # an unreadable folder: keep what was found before it
                continue
    for items in result.by_role.values():
        items.sort(key=_preference)
    return result


# -- the Hugging Face cache -------------------------------------------------------------------------------
def _scan_hf_cache(cache: Path, result: Discovery) -> None:
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(cache)
    except (CacheNotFound, OSError, ValueError):
        return
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model" or not repo.revisions:
            continue
        revision = next((r for r in repo.revisions if "main" in r.refs), None)
        revision = revision or max(repo.revisions, key=lambda r: r.last_modified)
        _classify_folder(Path(revision.snapshot_path), f"{SOURCE_HF}: {repo.repo_id}", result)


def _classify_folder(folder: Path, source: str, result: Discovery) -> None:
    """A repository snapshot or model folder: a diffusers pipeline, a model folder, or loose files."""
    index = _read_json(folder / "model_index.json")
    if index is not None:
        result.add(_diffusers_pipeline(folder, index, source))
        return
    config = _read_json(folder / "config.json") or {}
    if config.get("_class_name") == "ControlNetModel":
        result.add(_controlnet_folder(folder, config, source))
    architectures = config.get("architectures") or []
    depth_models = ("DPTForDepthEstimation", "DepthAnythingForDepthEstimation")
    if any(a in depth_models for a in architectures) and _has_weights(folder):
        result.add(
            FoundWeights(
                "depth",
                folder,
                source,
                "depth estimator (transformers)",
                size_of(folder),
                {"kind": "transformers"},
            )
        )
    if "BlipForConditionalGeneration" in architectures and _has_weights(folder):
        result.add(FoundWeights("captioner", folder, source, "BLIP captioner", size_of(folder)))
    owl = ("Owlv2ForObjectDetection", "OwlViTForObjectDetection")
    if any(a in owl for a in architectures) and _has_weights(folder):
        result.add(FoundWeights("detector", folder, source, "OWL open-vocabulary detector", size_of(folder)))
    for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
        arch = CLIP_ARCH.search(source) or CLIP_ARCH.search(folder.name)
        if (folder / name).is_file() and arch:
            file = folder / name
            result.add(
                FoundWeights(
                    "clip", file, source, f"open_clip {arch.group(1)}", size_of(file), {"arch": arch.group(1)}
                )
            )
            break
    for file in _files(folder, recursive=True):
        result.add(_loose_file(file, source))


def _diffusers_pipeline(folder: Path, index: dict, source: str) -> FoundWeights | None:
    unet = _read_json(folder / "unet" / "config.json") or {}
    if unet.get("cross_attention_dim") in WIDER_CONTEXTS or not _has_weights(folder / "unet"):
        return None  # SD 2.x / SDXL / a snapshot holding configs only
    inpaint = unet.get("in_channels") == 9 or "Inpaint" in str(index.get("_class_name"))
    role = "inpaint" if inpaint else "txt2img"
    label = "SD 1.5 inpainting (diffusers)" if inpaint else "SD 1.5 (diffusers)"
    return FoundWeights(role, folder, source, label, size_of(folder))


def _controlnet_folder(folder: Path, config: dict, source: str) -> FoundWeights | None:
    if config.get("cross_attention_dim") in WIDER_CONTEXTS or not _has_weights(folder):
        return None
    if "depth" not in f"{source} {folder.name}".lower():
        return None
    return FoundWeights("controlnet_depth", folder, source, "ControlNet depth (diffusers)", size_of(folder))


# -- A1111 and ComfyUI folders ----------------------------------------------------------------------------
def _layouts(root: Path) -> list[tuple[str, Path]]:
    """(layout, install folder) for `root`, which may be the install folder or its `models/` folder."""
    found = []
    for install in (root, root.parent):
        models = install / "models"
        if (models / "Stable-diffusion").is_dir() and (install == root or root == models):
            found.append(("AUTOMATIC1111", install))
        if (models / "checkpoints").is_dir() and (install == root or root == models):
            found.append(("ComfyUI", install))
    return found


def _scan_install(kind: str, install: Path, result: Discovery) -> None:
    dirs = A1111_DIRS if kind == "AUTOMATIC1111" else COMFYUI_DIRS
    source = f"{kind} at {install}"

    def folders(key: str) -> list[Path]:
        return [install / rel for rel in dirs.get(key, ()) if (install / rel).is_dir()]

    for folder in folders("checkpoints"):
        for file in _files(folder, recursive=True):
            result.add(_sd_single_file(file, source))
    for folder in folders("diffusers"):
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            _classify_folder(sub, source, result)
    for folder in folders("controlnet"):
        for item in sorted(folder.iterdir()):
            if item.is_dir():
                _classify_folder(item, source, result)
            else:
                result.add(_controlnet_file(item, source))
    for folder in folders("sam") + folders("annotators") + folders("clip_vision"):
        for file in _files(folder, recursive=True):
            result.add(_loose_file(file, source))
    result.lora_folders += [f for f in folders("loras") if f not in result.lora_folders]


def _sd_single_file(file: Path, source: str) -> FoundWeights | None:
    """An SD checkpoint as A1111/ComfyUI keep them: 1.5 base → txt2img, 1.5 inpainting → inpaint."""
    name = file.name.lower()
    if file.suffix == ".safetensors":
        shapes = safetensors_shapes(file)
        first, context = shapes.get(SD_FIRST_CONV), shapes.get(SD_CONTEXT)
        if first is None or context is None or context[-1] in WIDER_CONTEXTS:
            return None  # not an SD UNet checkpoint, or SD 2.x / SDXL
        inpaint = first[1] == 9
        note = "single file"
    elif file.suffix == ".ckpt":
        if re.search(r"xl|sd2|v2[-_.]|768", name):
            return None
        inpaint = "inpaint" in name  # a pickle's tensors cannot be listed without unpickling it
        note = "single .ckpt, SD 1.5 assumed from its name"
    else:
        return None
    role, what = ("inpaint", "SD 1.5 inpainting") if inpaint else ("txt2img", "SD 1.5")
    return FoundWeights(role, file, source, f"{what} ({note})", file.stat().st_size)


def _controlnet_file(file: Path, source: str) -> FoundWeights | None:
    """A ControlNet v1.1 depth single file (the loader reads .safetensors; A1111's .pth is offered
    by neither diffusers nor us)."""
    if file.suffix != ".safetensors" or "depth" not in file.name.lower():
        return None
    shapes = safetensors_shapes(file)
    contexts = [s for k, s in shapes.items() if k.endswith("attn2.to_k.weight")]
    if not contexts or contexts[0][-1] in WIDER_CONTEXTS:
        return None
    return FoundWeights(
        "controlnet_depth", file, source, "ControlNet depth (single file)", file.stat().st_size
    )


def _loose_file(file: Path, source: str) -> FoundWeights | None:
    """Files recognised by name wherever they are: SAM checkpoints, ControlNet depth preprocessors,
    open_clip checkpoints (ComfyUI's clip_vision holds these beside vision-only towers)."""
    sam = SAM_NAME.search(file.name)
    if sam:
        variant = sam.group(1)
        return FoundWeights("sam", file, source, f"SAM {variant}", file.stat().st_size, {"variant": variant})
    kind = DETECTOR_FILES.get(file.name)
    if kind:
        return FoundWeights(
            "depth", file, source, f"{kind} depth preprocessor", file.stat().st_size, {"kind": kind}
        )
    arch = CLIP_ARCH.search(file.name)
    if arch and file.suffix == ".safetensors" and _is_open_clip(file):
        return FoundWeights(
            "clip", file, source, f"open_clip {arch.group(1)}", file.stat().st_size, {"arch": arch.group(1)}
        )
    return None


def _is_open_clip(file: Path) -> bool:
    """open_clip's own layout (image and text towers); transformers' vision-only towers don't qualify."""
    names = safetensors_shapes(file)
    return "token_embedding.weight" in names and any(k.startswith("visual.") for k in names)


# -- small readers ----------------------------------------------------------------------------------------
def safetensors_shapes(file: Path) -> dict[str, list[int]]:
    """Tensor name → shape from a safetensors header (8-byte length + JSON); {} if it is not one."""
    try:
        with file.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 100_000_000:
                return {}
            header = json.loads(handle.read(length))
    except (OSError, struct.error, ValueError):
        return {}
    return {k: v.get("shape", []) for k, v in header.items() if isinstance(v, dict)}


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _has_weights(folder: Path) -> bool:
    return any(p.suffix in (".safetensors", ".bin") for p in _files(folder, recursive=False))


def _files(folder: Path, recursive: bool) -> list[Path]:
    try:
        items = folder.rglob("*") if recursive else folder.iterdir()
        return sorted(p for p in items if p.is_file())  # is_file follows the cache's symlinks to blobs
    except OSError:
        return []


def _preference(found: FoundWeights) -> tuple:
    # Prefer what `models download` would fetch: SAM vit_b (fast on a CPU), diffusers folders, safetensors.
    sam_rank = {"vit_b": 0, "vit_l": 1, "vit_h": 2}.get(found.options.get("variant", ""), 0)
    return (sam_rank, found.path.is_file() and found.role in ("inpaint", "txt2img"), str(found.path))


# -- using what was found ---------------------------------------------------------------------------------
def use_in_place(found: Iterable[FoundWeights], config_path: Path | str) -> Path:
    """Point each found role at its weights in `config_path` (models.toml), written atomically.

    The file's other roles, comments and order are kept (tomlkit); a role's old options are replaced,
    since they described the old weights."""
    import tomlkit

    from engine.runtime.atomic import atomic_write_bytes

    config_path = Path(config_path)
    if config_path.exists():
        try:
            document = tomlkit.parse(config_path.read_text(encoding="utf-8"))
        except (tomlkit.exceptions.ParseError, UnicodeDecodeError) as error:
            raise ModelError(f"Models file {config_path} is not valid TOML: {error}") from error
    else:
        document = tomlkit.document()
        document.add(tomlkit.comment("ShootStudio models: which weights serve each role (see README)."))
    for item in found:
        table = tomlkit.table()
        for key, value in item.toml_entry().items():
            table[key] = value
        table["path"].comment(f"found in {item.source}")
        document[item.role] = table
    atomic_write_bytes(config_path, tomlkit.dumps(document).encode("utf-8"))
    return config_path
