"""Reader contracts of our `parameters` text: what AUTOMATIC1111 1.10, its Lora extension and
sd-webui-controlnet read back from generate and inpaint outputs, in PNG, JPEG, WebP and TIFF.

`a1111_parse` below is written from A1111 1.10.1's `modules/infotext_utils.py`
(`parse_generation_parameters`, `re_param`, `unquote`) and `modules/extra_networks.py` (`<name:args>`
tags), not from our writer; `controlnet_parse` from sd-webui-controlnet 1.1.455's
`internal_controlnet/args.py` (`ControlNetUnit.parse`, `parse_value`). Hashes are recomputed here the way
A1111 does: sha256 shorthash (10 hex) for checkpoints, kohya's addnet hash (12 hex) for LoRAs, and the
old 8-hex `model_hash` for ControlNet model names.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import piexif
import piexif.helper
import pytest
from PIL import Image

from engine.diffusion.enhance import enhance, save_variant
from engine.diffusion.generate import generate_images
from engine.diffusion.infotext import depth_module
from engine.diffusion.lora import LoraSpec, apply_loras
from engine.diffusion.recipes import EnhanceRecipe, GenerateRequest
from engine.diffusion.samplers import SCHEDULERS, a1111_sampler
from engine.runtime.jobs import Job
from tests.fixtures.enhance import box_mask, textured_rgb
from tests.fixtures.lora import one_torch_thread, random_kohya_lora  # noqa: F401 (an autouse fixture)

# --- an independent reader ------------------------------------------------------------------------
RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
RE_IMAGESIZE = re.compile(r"^(\d+)x(\d+)$")
RE_EXTRA_NET = re.compile(r"<(\w+):([^>]+)>")
# A1111 1.10 sampler and schedule-type labels (sd_samplers_kdiffusion / sd_samplers_timesteps /
# sd_schedulers), and sd-webui-controlnet's depth preprocessor names.
A1111_SAMPLERS = {
    "DPM++ 2M", "DPM++ SDE", "DPM++ 2M SDE", "DPM++ 2M SDE Heun", "DPM++ 2S a", "DPM++ 3M SDE", "Euler a",
    "Euler", "LMS", "Heun", "DPM2", "DPM2 a", "DPM fast", "DPM adaptive", "Restart", "DDIM", "DDIM CFG++",
    "PLMS", "UniPC", "LCM",
}  # fmt: skip
A1111_SCHEDULES = {
    "Automatic", "Uniform", "Karras", "Exponential", "Polyexponential", "SGM Uniform", "KL Optimal",
    "Align Your Steps", "Simple", "Normal", "DDIM", "Beta",
}  # fmt: skip
CONTROLNET_DEPTH_MODULES = {
    "depth_midas", "depth_leres", "depth_leres++", "depth_zoe", "depth_anything", "depth_anything_v2",
    "depth_hand_refiner",
}  # fmt: skip


def a1111_parse(text: str) -> dict[str, str]:
    res: dict[str, str] = {}
    prompt, negative, done_with_prompt = "", "", False
    *lines, lastline = text.strip().split("\n")
    if len(RE_PARAM.findall(lastline)) < 3:
        lines.append(lastline)
        lastline = ""
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done_with_prompt = True
            line = line[16:].strip()
        if done_with_prompt:
            negative += ("" if negative == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    res["Prompt"], res["Negative prompt"] = prompt, negative
    for key, value in RE_PARAM.findall(lastline):
        if value[0] == '"' and value[-1] == '"':
            value = json.loads(value)
        match = RE_IMAGESIZE.match(value)
        if match:
            res[f"{key}-1"], res[f"{key}-2"] = match.group(1), match.group(2)
        else:
            res[key] = value
    res.setdefault("RNG", "GPU")  # A1111: a missing RNG means GPU noise
    res.setdefault("Schedule type", "Automatic")
    return res


def lora_tags(prompt: str) -> dict[str, float]:
    return {
        args.split(":")[0]: float(args.split(":")[1])
        for kind, args in RE_EXTRA_NET.findall(prompt)
        if kind == "lora"
    }


def lora_hashes(value: str) -> dict[str, str]:
    return dict(item.strip().split(": ") for item in value.split(","))


def controlnet_parse(text: str) -> dict[str, object]:
    def parse_value(value: str):
        if value in ("True", "False"):
            return value == "True"
        for cast in (int, float):
            try:
                return cast(value)
            except ValueError:
                pass
        return value

    unit = {}
    for item in text.split(","):
        key, value = item.strip().split(": ")  # more than one ': ' in an item: the extension drops the unit
        unit["_".join(word.lower() for word in key.split(" "))] = parse_value(value)
    return unit


def addnet_hash(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha256(data[8 + int.from_bytes(data[:8], "little") :]).hexdigest()


def weights_sha256(folder: Path) -> str:
    [file] = sorted(folder.glob("diffusion_pytorch_model*.safetensors"))
    return hashlib.sha256(file.read_bytes()).hexdigest()


def old_model_hash(folder: Path) -> str:
    [file] = sorted(folder.glob("diffusion_pytorch_model*.safetensors"))
    with open(file, "rb") as handle:
        handle.seek(0x100000)
        return hashlib.sha256(handle.read(0x10000)).hexdigest()[:8]


def exif_comment(path: Path) -> str:
    """What A1111's `read_info_from_image` gets from a JPEG/WebP (piexif on `image.info["exif"]`); for
    TIFF (which A1111 neither writes nor reads) the same UserComment from the Exif IFD."""
    with Image.open(path) as image:
        if "exif" in image.info:
            raw = piexif.load(image.info["exif"])["Exif"][piexif.ExifIFD.UserComment]
        else:
            raw = image.getexif().get_ifd(0x8769)[0x9286]
    return piexif.helper.UserComment.load(raw)


# --- tests ----------------------------------------------------------------------------------------
def run(fn):
    job = Job(fn)
    job._run()
    return job.result(0)


def test_every_sampler_we_offer_has_an_a1111_sampler_and_schedule():
    for name in (*SCHEDULERS, "PNDM"):
        sampler, schedule = a1111_sampler(name)
        assert sampler in A1111_SAMPLERS and schedule in A1111_SCHEDULES, name
    # A bare "DPM++ 2M" means Karras in A1111 1.9+: ours (non-Karras) must say Uniform.
    assert a1111_sampler("DPM++ 2M") == ("DPM++ 2M", "Uniform")
    assert a1111_sampler("DPM++ 2M Karras") == ("DPM++ 2M", "Karras")
    for kind in ("midas", "leres", "zoe", "transformers"):
        assert depth_module(kind) in CONTROLNET_DEPTH_MODULES
    assert depth_module("transformers", "depth-anything-v2-small-hf") == "depth_anything_v2"


def test_generate_output_round_trips_through_a1111s_reader(tiny_registry, tmp_path):
    lora = random_kohya_lora(tmp_path / "pocket.safetensors")
    request = GenerateRequest(
        template="ppzocketv2, {class}, studio: white",
        classes=["hand bag"],
        negative_prompt="blurry, text",
        seed=42,
        loras=[LoraSpec(lora, 0.8)],
        out_dir=tmp_path / "out",
        width=64,
        height=64,
        steps=2,
    )  # the default sampler: the model's own scheduler, under its A1111 name
    try:
        [result] = run(lambda ctx: generate_images(request, tiny_registry, ctx))
    finally:
        apply_loras(tiny_registry.txt2img_pipeline(), [])
    fields = a1111_parse(Image.open(result.path).info["parameters"])
    assert fields["Prompt"] == "ppzocketv2, hand bag, studio: white <lora:pocket:0.8>"
    assert lora_tags(fields["Prompt"]) == {"pocket": 0.8}
    assert lora_hashes(fields["Lora hashes"]) == {"pocket": addnet_hash(lora)[:12]}
    assert fields["Negative prompt"] == "blurry, text"
    assert fields["Seed"] == "42" and fields["Steps"] == "2" and fields["RNG"] == "CPU"
    assert (fields["Size-1"], fields["Size-2"]) == ("64", "64")
    assert fields["Sampler"] in A1111_SAMPLERS and fields["Schedule type"] in A1111_SCHEDULES
    txt2img = tiny_registry.config.spec("txt2img").local_path()
    assert fields["Model"] == txt2img.name
    assert fields["Model hash"] == weights_sha256(txt2img / "unet")[:10]


@pytest.fixture(scope="module")
def inpainted(tiny_registry, tmp_path_factory):
    """One enhance result with a LoRA and the depth ControlNet, and the recipe's LoRA file."""
    folder = tmp_path_factory.mktemp("inpaint")
    path = folder / "IMG_7.jpg"
    Image.fromarray(textured_rgb(80, 96)).save(path, quality=95)
    lora = random_kohya_lora(folder / "pocket.safetensors", seed=3)
    recipe = EnhanceRecipe(
        prompt="ppzocketv2, {class}", steps=2, work_size=64, padding=8, seed=5, scheduler="DPM++ 2M",
        control_scale=0.7, loras=(LoraSpec(lora, 0.6),),
    )  # fmt: skip
    try:
        result = enhance(path, box_mask(80, 96, (40, 30, 60, 50)), recipe, tiny_registry, class_name="bag")
    finally:
        apply_loras(tiny_registry.inpaint_pipeline(), [])
    return result, lora, folder


def check_inpaint_fields(text: str, lora: Path, registry) -> None:
    fields = a1111_parse(text)
    assert fields["Prompt"] == "ppzocketv2, bag <lora:pocket:0.6>"
    assert lora_tags(fields["Prompt"]) == {"pocket": 0.6}
    assert lora_hashes(fields["Lora hashes"]) == {"pocket": addnet_hash(lora)[:12]}  # the hash, not the scale
    assert (fields["Sampler"], fields["Schedule type"]) == ("DPM++ 2M", "Uniform")
    assert fields["Seed"] == "5" and fields["RNG"] == "CPU" and fields["Size-1"] == "64"
    assert fields["Inpaint area"] == "Only masked" and fields["Denoising strength"] == "0.75"
    inpaint = registry.config.spec("inpaint").local_path()
    assert fields["Model"] == inpaint.name and fields["Model hash"] == weights_sha256(inpaint / "unet")[:10]
    unit = controlnet_parse(fields["ControlNet 0"])
    assert len(unit) == 11 and unit["module"] in CONTROLNET_DEPTH_MODULES
    control = registry.config.spec("controlnet_depth").local_path()
    assert unit["model"] == f"{control.name} [{old_model_hash(control)}]"
    assert unit["weight"] == 0.7 and unit["guidance_start"] == 0 and unit["guidance_end"] == 1
    assert unit["resize_mode"] == "Crop and Resize" and unit["control_mode"] == "Balanced"
    assert unit["pixel_perfect"] is False and isinstance(unit["processor_res"], int)


def test_inpaint_png_round_trips_through_a1111_and_controlnet_readers(inpainted, tiny_registry, tmp_path):
    result, lora, _ = inpainted
    written = save_variant(result, result.variants[0], tmp_path)
    assert written.suffix == ".png"
    check_inpaint_fields(Image.open(written).info["parameters"], lora, tiny_registry)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "TIFF"])
def test_jpeg_webp_tiff_outputs_carry_the_same_text_in_exif_usercomment(
    inpainted, tiny_registry, tmp_path, fmt
):
    result, lora, _ = inpainted
    result.image.format = fmt  # as if the original had been a JPEG / WebP / TIFF
    try:
        written = save_variant(result, result.variants[0], tmp_path, keep_format=True)
    finally:
        result.image.format = "JPEG"
    assert written.suffix == {"JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif"}[fmt]
    assert exif_comment(written) == result.variants[0].parameters
    check_inpaint_fields(exif_comment(written), lora, tiny_registry)
    assert np.asarray(Image.open(written)).shape[:2] == (80, 96)


def test_the_default_generate_sampler_is_recorded_under_a_name_a1111_knows():
    from diffusers import DPMSolverMultistepScheduler, PNDMScheduler

    from engine.diffusion.samplers import sampler_name_of

    # SD 1.5's own scheduler (what `generate` uses by default) is PNDM without warm-up: A1111's PLMS.
    assert a1111_sampler(sampler_name_of(PNDMScheduler(skip_prk_steps=True)))[0] == "PLMS"
    karras = DPMSolverMultistepScheduler(use_karras_sigmas=True)
    assert a1111_sampler(sampler_name_of(karras)) == ("DPM++ 2M", "Karras")


def test_model_names_as_a1111_shows_them(tmp_path):
    from engine.diffusion.infotext import model_name

    file = tmp_path / "realisticVision_v51.safetensors"
    file.write_bytes(b"x")
    assert model_name(file) == "realisticVision_v51"
    assert model_name(tmp_path / "sd15-folder") == "sd15-folder"
    snapshot = tmp_path / "models--runwayml--stable-diffusion-v1-5" / "snapshots" / "451f4fe16113bff5"
    assert model_name(snapshot) == "stable-diffusion-v1-5"
