"""LoRA files in both formats people have (diffusers/peft and kohya/AUTOMATIC1111) on the inpaint model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.diffusion.enhance import enhance
from engine.diffusion.lora import LoraError, LoraSpec, parse_lora_arg
from engine.diffusion.recipes import EnhanceRecipe
from engine.models.errors import ModelError
from tests.fixtures.enhance import box_mask, textured_rgb, write_kohya_lora, write_peft_lora

TINY = {"steps": 2, "work_size": 64, "padding": 8, "mask_blur": 2, "seed": 3}


@pytest.fixture(scope="module")
def lora_files(tiny_models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("loras")
    unet = tiny_models.parent / "sd15-inpainting-tiny" / "unet"
    peft = write_peft_lora(unet, folder / "product_peft.safetensors")
    kohya = write_kohya_lora(peft, folder / "product_kohya.safetensors")
    other = write_peft_lora(unet, folder / "style.safetensors", seed=1)
    return peft, kohya, other


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("lora-photo") / "bag.png"
    Image.fromarray(textured_rgb(96, 96)).save(path)
    return path, box_mask(96, 96, (30, 30, 60, 60))


def run(photo, registry, *loras: LoraSpec) -> np.ndarray:
    path, mask = photo
    return enhance(path, mask, EnhanceRecipe(**TINY, loras=tuple(loras)), registry).variants[0].patch


def test_peft_and_kohya_loras_load_and_change_the_output(photo, lora_files, tiny_registry):
    peft, kohya, _ = lora_files
    base = run(photo, tiny_registry)
    with_peft = run(photo, tiny_registry, LoraSpec(peft, 1.0))
    with_kohya = run(photo, tiny_registry, LoraSpec(kohya, 1.0))
    assert np.abs(with_peft.astype(int) - base).mean() > 2
    assert np.abs(with_kohya.astype(int) - base).mean() > 2
    # The kohya file holds the same weights (alpha = rank), so it acts like the peft one.
    assert np.abs(with_kohya.astype(int) - with_peft).max() <= 2


def test_scale_zero_equals_no_lora_and_unloading_restores_the_model(photo, lora_files, tiny_registry):
    peft, kohya, _ = lora_files
    base = run(photo, tiny_registry)
    assert np.array_equal(run(photo, tiny_registry, LoraSpec(peft, 0.0)), base)
    assert np.array_equal(run(photo, tiny_registry, LoraSpec(kohya, 0.0)), base)
    run(photo, tiny_registry, LoraSpec(peft, 1.0))
    assert np.array_equal(run(photo, tiny_registry), base)  # the cached pipeline dropped its adapters


def test_several_loras_at_once_with_their_own_scales(photo, lora_files, tiny_registry):
    peft, _, other = lora_files
    one = run(photo, tiny_registry, LoraSpec(peft, 1.0))
    both = run(photo, tiny_registry, LoraSpec(peft, 1.0), LoraSpec(other, 0.8))
    half = run(photo, tiny_registry, LoraSpec(peft, 1.0), LoraSpec(other, 0.4))
    assert not np.array_equal(one, both) and not np.array_equal(both, half)
    assert tiny_registry.inpaint_pipeline(control=True).get_active_adapters() == ["lora0", "lora1"]


def test_bad_lora_files_get_clear_messages(tmp_path, photo, tiny_registry):
    import torch
    from safetensors.torch import save_file

    pickled = tmp_path / "old.ckpt"
    pickled.write_bytes(b"not really")
    with pytest.raises(LoraError, match=r"only \.safetensors"):
        parse_lora_arg(str(pickled))
    with pytest.raises(LoraError, match="not found"):
        parse_lora_arg(str(tmp_path / "missing.safetensors:0.5"))
    junk = tmp_path / "junk.safetensors"
    save_file({"something.else": torch.zeros(3)}, str(junk))
    assert parse_lora_arg(f"{junk}:0.7") == LoraSpec(junk, 0.7)
    base = run(photo, tiny_registry)
    with pytest.raises(ModelError, match=r"junk\.safetensors"):
        run(photo, tiny_registry, LoraSpec(junk, 1.0))
    # A failed load leaves the pipeline usable: the next run without LoRA is the plain model's.
    assert np.array_equal(run(photo, tiny_registry), base)
