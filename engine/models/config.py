"""`models.toml`: which local weights serve each model role.

```toml
[sam]
path = "sam_vit_b_01ec64.pth"   # relative paths are relative to this file's folder
variant = "vit_b"                # vit_b | vit_l | vit_h | custom (with the custom sizes below)

[clip]
path = "clip-vit-b-32/open_clip_model.safetensors"
arch = "ViT-B-32"                # an open_clip architecture name
# config = "my-arch.json"        # an open_clip model config for an architecture it does not ship

[inpaint]                        # a diffusers folder, a single-file .safetensors, or a hub id
path = "stable-diffusion-v1-5/stable-diffusion-inpainting"
```

A hub id (`owner/name`) is looked up in the local Hugging Face cache only; loading never downloads.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from engine.models.errors import ModelError

ROLES = ("sam", "clip", "inpaint", "controlnet_depth", "depth", "txt2img", "captioner")
ROLES += ("matting",)  # soft product edges (engine/project/matting.py)
ROLES += ("detector",)  # text-prompted proposals and "Select: NAME" (engine/filter/grounded.py)

ROLE_DESCRIPTIONS = {
    "sam": "Segment Anything checkpoint (.pth)",
    "clip": "open_clip model (architecture + checkpoint)",
    "inpaint": "Stable Diffusion 1.5 inpainting (diffusers folder or single file)",
    "controlnet_depth": "ControlNet v1.1 depth for SD 1.5 (diffusers folder)",
    "depth": "depth estimator for the ControlNet hint",
    "txt2img": "Stable Diffusion 1.5 base (diffusers folder or single file)",
    "captioner": "BLIP image captioning (transformers folder)",
    "matting": "ViTMatte image matting for soft edges (transformers folder)",
    "detector": "OWLv2 open-vocabulary detector for text-prompted masks (transformers folder)",
}

APP_NAME = "ShootStudio"


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_models_dir() -> Path:
    return Path(os.environ.get("SHOOTSTUDIO_MODELS_DIR") or platformdirs.user_data_dir(APP_NAME, False)) / (
        "models"
    )


def default_config_path() -> Path:
    """`$SHOOTSTUDIO_MODELS` if set, else the user's config folder."""
    env = os.environ.get("SHOOTSTUDIO_MODELS")
    return Path(env).expanduser() if env else user_config_dir() / "models.toml"


# Where `models download` puts each role, and so where a fresh install looks for it.
DEFAULT_ROLES: dict[str, dict[str, Any]] = {
    "sam": {"path": "sam_vit_b_01ec64.pth", "variant": "vit_b"},
    "clip": {"path": "clip-vit-b-32-laion2b/open_clip_model.safetensors", "arch": "ViT-B-32"},
    "inpaint": {"path": "sd15-inpainting"},
    "controlnet_depth": {"path": "control_v11f1p_sd15_depth"},
    "depth": {"path": "dpt-hybrid-midas", "kind": "transformers"},
    "txt2img": {"path": "sd15"},
    "captioner": {"path": "blip-image-captioning-base"},
    "matting": {"path": "vitmatte-small-composition-1k"},
    "detector": {"path": "owlv2-base-patch16-ensemble"},
}


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _index_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    )


_SAM_SIZES = (
    "encoder_embed_dim", "encoder_depth", "encoder_num_heads", "image_size", "patch_size", "window_size",
    "prompt_embed_dim", "decoder_depth", "decoder_mlp_dim", "decoder_num_heads", "iou_head_hidden_dim",
)  # fmt: skip

# Known options per role → (check, what it must be). A wrong type or range stops before any model loads
# (exit 3 with the file, role and option), instead of surfacing as a library error on every image.
OPTION_CHECKS: dict[str, dict[str, tuple[Any, str]]] = {
    "sam": {
        "variant": (lambda v: isinstance(v, str), "a string (vit_b, vit_l, vit_h or custom)"),
        **{name: (_positive_int, "a whole number above 0") for name in _SAM_SIZES},
        "encoder_global_attn_indexes": (_index_list, "a list of whole numbers >= 0"),
    },
    "clip": {
        "arch": (lambda v: isinstance(v, str) and bool(v), "an open_clip architecture name"),
        "config": (lambda v: isinstance(v, str) and bool(v), "the path of an open_clip model config (JSON)"),
    },
    "depth": {"kind": (lambda v: isinstance(v, str), "a string")},
    "detector": {"image_size": (lambda v: _positive_int(v) and v % 32 == 0, "a multiple of 32, e.g. 480")},
}


def check_options(source: Path, role: str, options: dict[str, Any]) -> None:
    """Raise ModelError for a known option of `role` with a value of the wrong type or range."""
    for name, value in options.items():
        check = OPTION_CHECKS.get(role, {}).get(name)
        if check is not None and not check[0](value):
            raise ModelError(f"Models file {source}: [{role}] {name} = {value!r} must be {check[1]}.")


@dataclass(frozen=True)
class RoleSpec:
    """One role's entry: where its weights are and how to read them."""

    role: str
    path: str
    base_dir: Path
    options: dict[str, Any] = field(default_factory=dict)

    def local_path(self) -> Path:
        """The path as a local file or folder (may not exist); hub ids are resolved separately."""
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def looks_like_hub_id(self) -> bool:
        parts = self.path.split("/")
        return len(parts) == 2 and all(parts) and not self.local_path().exists() and "\\" not in self.path

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


@dataclass
class ModelsConfig:
    roles: dict[str, RoleSpec]
    source: Path | None = None

    @classmethod
    def defaults(cls) -> ModelsConfig:
        base = user_models_dir()
        roles = {
            role: RoleSpec(role, entry["path"], base, {k: v for k, v in entry.items() if k != "path"})
            for role, entry in DEFAULT_ROLES.items()
        }
        return cls(roles, None)

    @classmethod
    def load(cls, path: Path | str | None = None) -> ModelsConfig:
        """Read `path` (or the default location). Roles it leaves out keep their defaults."""
        explicit = path is not None or "SHOOTSTUDIO_MODELS" in os.environ
        path = Path(path).expanduser() if path is not None else default_config_path()
        config = cls.defaults()
        if not path.exists():
            if explicit:
                raise ModelError(
                    f"Models file not found: {path}. Create it or drop --models to use defaults."
                )
            return config
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ModelError(f"Models file {path} is not valid TOML: {error}") from error
        unknown = sorted(set(data) - set(ROLES))
        if unknown:
            raise ModelError(f"Models file {path} names unknown roles {unknown}; known roles: {list(ROLES)}.")
        for role, entry in data.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise ModelError(f'Models file {path}: [{role}] needs a `path = "..."` entry.')
            options = {k: v for k, v in entry.items() if k != "path"}
            check_options(path, role, options)
            config.roles[role] = RoleSpec(role, entry["path"], path.parent.resolve(), options)
        config.source = path
        return config

    def spec(self, role: str) -> RoleSpec:
        if role not in self.roles:
            raise ModelError(f"Unknown model role {role!r}; known roles: {', '.join(ROLES)}.")
        return self.roles[role]

    def with_role(self, role: str, path: str, **options: Any) -> ModelsConfig:
        """A copy with one role pointed elsewhere (the GUI's Settings → Models)."""
        roles = dict(self.roles)
        roles[role] = RoleSpec(role, path, Path.cwd(), options)
        return ModelsConfig(roles, self.source)

    def to_toml_data(self, folder: Path | None = None) -> dict[str, dict[str, Any]]:
        """The roles as a models.toml written in `folder` would hold them: paths as the user gave them.

        A role still at its default is left out (it keeps following `models download`'s location; a
        default relative path written here would point under the config folder instead). A relative
        path read from a file in `folder` stays relative; other relative paths become absolute."""
        defaults = ModelsConfig.defaults().roles
        data = {}
        for role, spec in self.roles.items():
            default = defaults.get(role)
            if default is not None and (spec.local_path(), spec.options) == (
                default.local_path(),
                default.options,
            ):
                continue
            same_folder = folder is not None and spec.base_dir.resolve() == Path(folder).resolve()
            keep = Path(spec.path).expanduser().is_absolute() or same_folder or spec.looks_like_hub_id()
            data[role] = {"path": spec.path if keep else str(spec.local_path()), **spec.options}
        return data

    def save(self, path: Path | str) -> Path:
        import tomli_w

        from engine.runtime.atomic import atomic_write_bytes

        path = Path(path)
        atomic_write_bytes(path, tomli_w.dumps(self.to_toml_data(path.parent)).encode("utf-8"))
        return path
