"""First-run discovery: A1111, ComfyUI and Hugging Face cache folders made on disk, found and used in place.

Checkpoint files carry the tensor names and shapes that tell SD 1.5 from SD 2.x/SDXL (header only, a few
bytes of data); folders are the session's tiny models in their real formats, laid out as the HF cache does
(blobs + snapshot symlinks + refs/main), so what is offered also loads.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from safetensors.numpy import save_file

from engine.models.config import ModelsConfig
from engine.models.discover import SD_CONTEXT, SD_FIRST_CONV, default_install_roots, discover, use_in_place
from engine.models.locate import role_problem


def _sd_checkpoint(path: Path, in_channels: int, context: int) -> Path:
    """An SD UNet single file as A1111 keeps them: the first conv and a cross-attention key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {
            SD_FIRST_CONV: np.zeros((1, in_channels, 1, 1), np.float16),
            SD_CONTEXT: np.zeros((1, context), np.float16),
            "cond_stage_model.transformer.text_model.final_layer_norm.weight": np.zeros(1, np.float16),
        },
        str(path),
    )
    return path


def _controlnet_file(path: Path, context: int = 768) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
    save_file({key: np.zeros((1, context), np.float16)}, str(path))
    return path


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    return target


def _cache_repo(cache: Path, repo_id: str, source: Path | None, revision: str = "0123abcd") -> Path:
    """Lay `source` (a folder or file) out as huggingface_hub's cache does; returns the snapshot."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    files = [] if source is None else ([source] if source.is_file() else sorted(source.rglob("*")))
    for file in (f for f in files if f.is_file()):
        relative = Path(file.name) if source.is_file() else file.relative_to(source)
        blob = repo / "blobs" / hashlib.sha256(str(relative).encode()).hexdigest()
        shutil.copy(file, blob)
        link = snapshot / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path(*[".."] * (len(relative.parts) + 1), "blobs", blob.name))
    return snapshot


@pytest.fixture
def tiny_dir(tiny_models) -> Path:
    return tiny_models.parent


def test_an_a1111_install_offers_each_role_it_holds_with_its_path(tmp_path, tiny_dir):
    webui = tmp_path / "stable-diffusion-webui"
    ckpts = webui / "models" / "Stable-diffusion"
    base = _sd_checkpoint(ckpts / "v1-5-pruned-emaonly.safetensors", 4, 768)
    inpaint = _sd_checkpoint(ckpts / "Products" / "sd-v1-5-inpainting.safetensors", 9, 768)
    _sd_checkpoint(ckpts / "sd_xl_base_1.0.safetensors", 4, 2048)  # SDXL: not for these pipelines
    _sd_checkpoint(ckpts / "512-inpainting-ema.safetensors", 9, 1024)  # SD 2 inpainting: neither
    (ckpts / "Put Stable Diffusion checkpoints here.txt").write_text("")
    depth_cn = _controlnet_file(webui / "models" / "ControlNet" / "control_v11f1p_sd15_depth.safetensors")
    _controlnet_file(webui / "models" / "ControlNet" / "control_v11p_sd15_canny.safetensors")
    (webui / "models" / "ControlNet" / "control_v11f1p_sd15_depth.pth").write_bytes(b"pickle")
    sam_h = _copy(tiny_dir / "sam_tiny.pth", webui / "models" / "sam" / "sam_vit_h_4b8939.pth")
    extension_sam = webui / "extensions" / "sd-webui-segment-anything" / "models" / "sam"
    sam_b = _copy(tiny_dir / "sam_tiny.pth", extension_sam / "sam_vit_b_01ec64.pth")
    midas = webui / "extensions/sd-webui-controlnet/annotator/downloads/midas/dpt_hybrid-midas-501f0c75.pt"
    _copy(tiny_dir / "sam_tiny.pth", midas)  # any tensor file: found by its published name
    (webui / "models" / "Lora").mkdir()

    for root in (webui, webui / "models"):  # the install folder or its models/ folder
        found = discover([root], hf_cache=tmp_path / "no-cache")
        best = found.best()
        assert best["txt2img"].path == base and best["inpaint"].path == inpaint
        assert [f.path for f in found.by_role["inpaint"]] == [inpaint]  # SD 2 and SDXL left out
        assert [f.path for f in found.by_role["controlnet_depth"]] == [depth_cn]
        assert [f.path for f in found.by_role["sam"]] == [sam_b, sam_h]  # vit_b first: fast on a CPU
        assert found.by_role["sam"][1].options == {"variant": "vit_h"}
        assert best["depth"].path == midas and best["depth"].options == {"kind": "midas"}
        assert found.lora_folders == [webui / "models" / "Lora"]
        assert best["inpaint"].source == f"AUTOMATIC1111 at {webui}"
        assert best["sam"].size_bytes == sam_b.stat().st_size
        assert not {"clip", "captioner"} & set(found.by_role)


def test_a_comfyui_install_offers_its_checkpoints_controlnet_clip_and_sams(tmp_path, tiny_dir):
    comfy = tmp_path / "ComfyUI"
    models = comfy / "models"
    single = _sd_checkpoint(models / "checkpoints" / "sd15" / "photon_inpainting.safetensors", 9, 768)
    diffusers_sd = _copy(tiny_dir / "sd15-tiny", models / "diffusers" / "stable-diffusion-v1-5")
    depth_cn = _controlnet_file(models / "controlnet" / "control_v11f1p_sd15_depth_fp16.safetensors")
    # clip_vision holds transformers' vision-only towers (no text tower: no use to the filter) and, here,
    # an open_clip checkpoint with both towers.
    (models / "clip_vision").mkdir(parents=True)
    vision_only = {"vision_model.embeddings.patch_embedding.weight": np.zeros((1, 3, 1, 1), np.float16)}
    save_file(vision_only, str(models / "clip_vision" / "CLIP-ViT-H-14-laion2B-s32B-b79K.safetensors"))
    clip = _copy(
        tiny_dir / "clip" / "open_clip_model.safetensors", models / "clip_vision" / "ViT-B-32.safetensors"
    )
    sam = _copy(tiny_dir / "sam_tiny.pth", models / "sams" / "sam_vit_l_0b3195.pth")
    leres = comfy / "custom_nodes/comfyui_controlnet_aux/ckpts/lllyasviel/Annotators/res101.pth"
    _copy(tiny_dir / "sam_tiny.pth", leres)
    (models / "loras").mkdir()

    found = discover([comfy], hf_cache=tmp_path / "no-cache")
    best = found.best()
    assert best["inpaint"].path == single and "single file" in best["inpaint"].label
    assert best["txt2img"].path == diffusers_sd and best["txt2img"].label == "SD 1.5 (diffusers)"
    assert best["controlnet_depth"].path == depth_cn
    assert [f.path for f in found.by_role["clip"]] == [clip] and best["clip"].options == {"arch": "ViT-B-32"}
    assert best["sam"].path == sam and best["sam"].options == {"variant": "vit_l"}
    assert best["depth"].path == leres and best["depth"].options == {"kind": "leres"}
    assert found.lora_folders == [models / "loras"] and found.searched == [f"ComfyUI at {comfy}"]


def test_the_hf_cache_offers_complete_snapshots_and_use_in_place_loads_them(tmp_path, tiny_dir):
    cache = tmp_path / "hf" / "hub"
    repos = {
        "inpaint": ("stable-diffusion-v1-5/stable-diffusion-inpainting", "sd15-inpainting-tiny"),
        "txt2img": ("stable-diffusion-v1-5/stable-diffusion-v1-5", "sd15-tiny"),
        "controlnet_depth": ("lllyasviel/control_v11f1p_sd15_depth", "controlnet-depth-tiny"),
        "depth": ("Intel/dpt-hybrid-midas", "depth-tiny"),
        "captioner": ("Salesforce/blip-image-captioning-base", "blip-tiny"),
        "clip": ("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "clip/open_clip_model.safetensors"),
    }
    snapshots = {role: _cache_repo(cache, repo, tiny_dir / local) for role, (repo, local) in repos.items()}
    # A snapshot with configs only (an interrupted download) and one whose blobs were deleted: not offered.
    partial = _cache_repo(cache, "runwayml/stable-diffusion-inpainting", tiny_dir / "sd15-inpainting-tiny")
    for weights in partial.rglob("*.safetensors"):
        weights.unlink()
    broken = _cache_repo(cache, "Intel/dpt-large", tiny_dir / "depth-tiny")
    for blob in (broken.parents[1] / "blobs").iterdir():
        blob.unlink()

    found = discover([], hf_cache=cache)
    best = found.best()
    assert {role: f.path for role, f in best.items()} == {
        **{role: snapshot for role, snapshot in snapshots.items() if role != "clip"},
        "clip": snapshots["clip"] / "open_clip_model.safetensors",
    }
    assert [f.path for f in found.by_role["inpaint"]] == [snapshots["inpaint"]]
    assert [f.path for f in found.by_role["depth"]] == [snapshots["depth"]]
    assert best["clip"].options == {"arch": "ViT-B-32"} and best["depth"].options == {"kind": "transformers"}
    assert best["inpaint"].source == "Hugging Face cache: stable-diffusion-v1-5/stable-diffusion-inpainting"
    assert best["captioner"].size_bytes == sum(p.stat().st_size for p in (tiny_dir / "blip-tiny").iterdir())

    # Use in place: the user's file keeps its comments and its other roles; the found ones now resolve.
    models_toml = tmp_path / "config" / "models.toml"
    models_toml.parent.mkdir()
    shutil.copy(tiny_dir / "sam_tiny.pth", models_toml.parent / "my_sam.pth")
    sam_options = ModelsConfig.load(tiny_dir / "models.toml").spec("sam").options
    original = "# my studio's models\n" + tomli_w.dumps({"sam": {"path": "my_sam.pth", **sam_options}})
    models_toml.write_text(original)
    roles = ("inpaint", "txt2img", "controlnet_depth", "depth", "captioner")
    use_in_place([best[r] for r in roles], models_toml)
    text = models_toml.read_text()
    assert text.startswith(original)
    assert "# found in Hugging Face cache: Intel/dpt-hybrid-midas" in text
    config = ModelsConfig.load(models_toml)
    assert config.spec("sam").local_path() == models_toml.parent / "my_sam.pth"
    for role in roles:
        assert config.spec(role).local_path() == snapshots[role]
        assert role_problem(config, role) is None, role
    assert config.spec("depth").option("kind") == "transformers"
    assert models_toml.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert not [p.name for p in models_toml.parent.iterdir() if p.name not in ("models.toml", "my_sam.pth")]

    # What was offered loads through the real loaders (depth: the smallest).
    from engine.models.registry import ModelRegistry

    depth = ModelRegistry(config, "cpu").depth()
    from PIL import Image

    assert depth(Image.new("RGB", (64, 48), "white")).size == (64, 48)


def test_use_in_place_creates_the_file_and_replaces_a_role_s_old_options(tmp_path, tiny_dir):
    sam = _copy(tiny_dir / "sam_tiny.pth", tmp_path / "webui" / "models" / "sam" / "sam_vit_h_4b8939.pth")
    (tmp_path / "webui" / "models" / "Stable-diffusion").mkdir()
    found = discover([tmp_path / "webui"], hf_cache=tmp_path / "none").best()["sam"]
    target = tmp_path / "new" / "models.toml"
    use_in_place([found], target)
    assert ModelsConfig.load(target).spec("sam").options == {"variant": "vit_h"}
    target.write_text('[sam]\npath = "old.pth"\nvariant = "custom"\nencoder_depth = 2\n')
    use_in_place([found], target)
    spec = ModelsConfig.load(target).spec("sam")
    assert spec.local_path() == sam and spec.options == {"variant": "vit_h"}


def test_no_install_and_no_cache_finds_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    found = discover([tmp_path / "empty", tmp_path / "missing"], hf_cache=tmp_path / "missing-cache")
    assert found.by_role == {} and found.searched == [] and found.best() == {}


def _umask() -> int:
    from engine.runtime.atomic import current_umask

    return current_umask()


def test_default_places_are_the_search_variable_then_common_installs_in_home(tmp_path, monkeypatch):
    home, shared = tmp_path / "home", tmp_path / "nas" / "webui"
    for folder in (home / "ComfyUI", home / "stable-diffusion-webui", shared):
        folder.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SHOOTSTUDIO_MODEL_SEARCH", f"{shared}{os.pathsep}{tmp_path / 'gone'}")
    assert default_install_roots() == [shared, home / "stable-diffusion-webui", home / "ComfyUI"]
