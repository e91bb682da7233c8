"""Enhancement's models: single-file SD 1.5 checkpoints load offline; the bundled configs are SD 1.5's;
the controlnet_aux depth kinds load weights safely."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
from PIL import Image

from engine.diffusion.enhance import enhance
from engine.diffusion.recipes import EnhanceRecipe
from engine.models.config import ModelsConfig
from engine.models.registry import ModelRegistry
from tests.fixtures.enhance import (
    box_mask,
    config_folder_for,
    textured_rgb,
    write_models_toml,
    write_single_file_checkpoint,
)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_single_file_checkpoint_loads_offline_and_matches_the_diffusers_folder(
    tiny_models, tiny_registry, tmp_path, no_network
):
    tiny = tiny_models.parent
    checkpoint = write_single_file_checkpoint(tiny / "sd15-inpainting-tiny", tmp_path / "inpaint.safetensors")
    config = config_folder_for(tiny / "sd15-inpainting-tiny", tmp_path / "inpaint-config")
    toml = write_models_toml(
        tmp_path / "models.toml",
        {
            "inpaint": {"path": str(checkpoint), "config": str(config)},
            "controlnet_depth": {"path": str(tiny / "controlnet-depth-tiny")},
            "depth": {"path": str(tiny / "depth-tiny"), "kind": "transformers"},
        },
    )
    registry = ModelRegistry(ModelsConfig.load(toml), "cpu")
    image = tmp_path / "bag.png"
    Image.fromarray(textured_rgb(80, 80)).save(image)
    mask = box_mask(80, 80, (30, 30, 50, 50))
    recipe = EnhanceRecipe(steps=2, work_size=64, padding=8, seed=9)
    from_file = enhance(image, mask, recipe, registry).variants[0].patch
    from_folder = enhance(image, mask, recipe, tiny_registry).variants[0].patch
    assert np.array_equal(from_file, from_folder)


def test_the_bundled_configs_describe_sd15_inpainting_and_its_depth_controlnet():
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from engine.models.diffusion import BUNDLED_CONFIGS

    def count(module):
        return sum(p.numel() for p in module.parameters())

    sd = BUNDLED_CONFIGS["inpaint"]
    with torch.device("meta"):  # shapes only: no memory, no weights
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(sd / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(sd / "vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(sd / "text_encoder"))
        control = ControlNetModel.from_config(
            ControlNetModel.load_config(BUNDLED_CONFIGS["controlnet_depth"])
        )
    assert unet.config.in_channels == 9 and unet.config.cross_attention_dim == 768
    assert round(count(unet) / 1e6, 1) == 859.5  # SD 1.5 inpainting UNet: 859.5 M
    assert round(count(vae) / 1e6, 1) == 83.7
    assert round(count(text) / 1e6, 1) == 123.1  # CLIP ViT-L/14 text tower
    assert round(count(control) / 1e6, 1) == 361.3  # ControlNet v1.1 for SD 1.5


def test_the_sd_tokenizer_is_derived_offline_and_matches_clips(tmp_path, no_network):
    import open_clip

    from engine.models.diffusion import BUNDLED_CONFIGS, sd_tokenizer

    tokenizer = sd_tokenizer(BUNDLED_CONFIGS["inpaint"])
    text = "ppzocketv2, hand bag, stylish, studio photography"
    ids = tokenizer(text).input_ids
    assert ids == open_clip.get_tokenizer("ViT-B-32")([text])[0].tolist()[: len(ids)]
    assert tokenizer.model_max_length == 77


class TinyDepthNet(torch.nn.Module):
    """Stands in for MiDaS's DPT (123 M parameters) so the test stays fast: same call convention,
    NCHW in, N×H×W depth out. The real network runs in tests/benchmarks/bench_enhance.py."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 1, 3, padding=1)

    def forward(self, x):  # MiDaS: N×H×W
        return self.conv(x).squeeze(1)

    def infer(self, x):  # ZoeDepth: N×1×H×W
        return self.conv(x)


@pytest.mark.parametrize("kind", ["midas", "zoe"])
def test_controlnet_aux_depth_kinds_load_weights_safely(tmp_path, monkeypatch, kind):
    import pickle

    from safetensors.torch import save_file

    from engine.models import depth as depth_module
    from engine.models.config import RoleSpec
    from engine.models.errors import UnsafeCheckpoint
    from engine.runtime.device import choose_device

    monkeypatch.setattr(depth_module, "build_detector_network", lambda kind: TinyDepthNet())
    torch.manual_seed(0)
    reference = TinyDepthNet()
    path = tmp_path / f"{kind}.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    spec = RoleSpec("depth", str(path), tmp_path, {"kind": kind, "resolution": 64})
    estimator = depth_module.load_depth(spec, choose_device("cpu"))
    assert torch.equal(estimator.model.conv.weight, reference.conv.weight)
    depth = estimator(Image.fromarray(textured_rgb(48, 80)))
    assert depth.size == (80, 48) and depth.mode == "RGB"
    values = np.asarray(depth)
    assert values.max() - values.min() > 100  # normalised over the 8-bit range, not a flat map

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / f"{kind}.pt"
    evil.write_bytes(pickle.dumps({"model": Exploit()}))
    with pytest.raises(UnsafeCheckpoint):
        depth_module.load_depth(RoleSpec("depth", str(evil), tmp_path, {"kind": kind}), choose_device("cpu"))
    assert not marker.exists()


def test_the_device_dtype_and_memory_options_reach_the_pipeline(tiny_models, tmp_path):
    """fp16 is what CUDA gets (engine/device.py); here only the plumbing is checked, on the CPU."""
    from engine.models.config import RoleSpec
    from engine.models.diffusion import MemoryOptions, load_controlnet, load_inpaint_pipeline
    from engine.runtime.device import DeviceChoice

    tiny = tiny_models.parent
    half = DeviceChoice(torch.device("cpu"), torch.float16)
    controlnet = load_controlnet(
        RoleSpec("controlnet_depth", str(tiny / "controlnet-depth-tiny"), tiny), half
    )
    spec = RoleSpec("inpaint", str(tiny / "sd15-inpainting-tiny"), tiny)
    pipe = load_inpaint_pipeline(spec, half, controlnet, MemoryOptions(cpu_offload=True, vae_tiling=True))
    assert pipe.unet.dtype == pipe.vae.dtype == pipe.controlnet.dtype == torch.float16
    assert pipe.vae.use_tiling
    checkpoint = write_single_file_checkpoint(tiny / "sd15-inpainting-tiny", tmp_path / "inpaint.safetensors")
    config = config_folder_for(tiny / "sd15-inpainting-tiny", tmp_path / "config")
    single = load_inpaint_pipeline(
        RoleSpec("inpaint", str(checkpoint), tmp_path, {"config": str(config)}), half
    )
    assert single.unet.dtype == single.text_encoder.dtype == torch.float16
