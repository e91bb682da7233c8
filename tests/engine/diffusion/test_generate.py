"""Text-to-image generation on the tiny SD 1.5: template, seeds, schedulers, LoRA, PNG parameters, cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.cli.main import main as cli
from engine.diffusion.generate import GeneratedImage, generate_images
from engine.diffusion.lora import LoraSpec, apply_loras, parse_lora_arg
from engine.diffusion.recipes import GenerateRequest, GenerationError, render_prompt
from engine.imaging.outputs import parse_parameters
from engine.runtime.jobs import Cancelled, Job, Succeeded
from tests.fixtures.lora import one_torch_thread, random_kohya_lora  # noqa: F401 (an autouse fixture)

TINY = {"width": 64, "height": 64, "steps": 2}


def run(fn):
    """Run `fn(ctx)` as a job on this thread; its value (or raise)."""
    job = Job(fn)
    job._run()
    return job.result(0)


@pytest.fixture
def clean_txt2img(tiny_registry):
    """The session's cached pipeline, with no LoRA left on it afterwards (other tests share it)."""
    yield tiny_registry
    apply_loras(tiny_registry.txt2img_pipeline(), [])


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_template_classes_seeds_and_parameters_chunk(clean_txt2img, tmp_path):
    request = GenerateRequest(
        template="ppzocketv2, {class}, studio photography",
        classes=["hand bag", "shoe"],
        negative_prompt="blurry",
        count=2,
        seed=100,
        scheduler="Euler a",
        out_dir=tmp_path / "out",
        **TINY,
    )
    results = run(lambda ctx: generate_images(request, clean_txt2img, ctx))
    assert [r.seed for r in results] == [100, 101, 102, 103]  # seeds count up, as in AUTOMATIC1111
    assert [r.product_class for r in results] == ["hand bag", "hand bag", "shoe", "shoe"]
    for result in results:
        image = Image.open(result.path)
        assert image.size == (64, 64) and result.path.suffix == ".png"
        fields = parse_parameters(image.info["parameters"])
        assert fields["Prompt"] == f"ppzocketv2, {result.product_class}, studio photography"
        assert fields["Negative prompt"] == "blurry"
        assert fields["Seed"] == str(result.seed)
        assert fields["Sampler"] == "Euler a"
        assert fields["Steps"] == "2" and fields["Size"] == "64x64" and fields["Model"] == "sd15-tiny"
    # The same seed gives the same image (under a new name: nothing is overwritten); another seed another one.
    request.classes, request.count = ["hand bag"], 1
    again = run(lambda ctx: generate_images(request, clean_txt2img, ctx))
    assert again[0].path != results[0].path and again[0].path.name == "hand-bag-100-2.png"
    assert np.array_equal(pixels(again[0].path), pixels(results[0].path))
    assert not np.array_equal(pixels(results[0].path), pixels(results[1].path))


def test_every_scheduler_runs_and_the_cached_pipeline_keeps_its_own(clean_txt2img, tmp_path):
    pipe = clean_txt2img.txt2img_pipeline()
    original = type(pipe.scheduler)
    for name in ("default", "DPM++ 2M", "DPM++ 2M Karras", "Euler", "DDIM", "UniPC"):
        request = GenerateRequest(
            template="a bag", scheduler=name, seed=1, out_dir=tmp_path / name, **{**TINY, "steps": 1}
        )
        [result] = run(lambda ctx, r=request: generate_images(r, clean_txt2img, ctx))
        assert result.path.exists()
    assert type(clean_txt2img.txt2img_pipeline().scheduler) is original


def test_lora_changes_the_output_and_scale_zero_equals_none(clean_txt2img, tmp_path):
    lora = random_kohya_lora(tmp_path / "product.safetensors")

    def make(loras, name):
        request = GenerateRequest(
            template="ppzocketv2 bag", seed=7, loras=loras, out_dir=tmp_path / name, **TINY
        )
        [result] = run(lambda ctx: generate_images(request, clean_txt2img, ctx))
        return result.path

    plain = pixels(make([], "plain"))
    with_lora_path = make([LoraSpec(lora, 1.0)], "lora")
    zero = pixels(make([LoraSpec(lora, 0.0)], "zero"))
    assert np.abs(pixels(with_lora_path) - plain).mean() > 1.0
    assert np.abs(zero - plain).max() <= 1  # scale 0: the base model (up to rounding)
    # The LoRA as A1111 writes it (full reader-contract checks: tests/engine/diffusion/test_infotext.py)
    fields = parse_parameters(Image.open(with_lora_path).info["parameters"])
    assert fields["Prompt"] == "ppzocketv2 bag <lora:product:1>"
    assert fields["Lora hashes"].startswith("product: ") and "Lora" not in fields


def test_bad_settings_are_refused_before_any_model_loads(tmp_path):
    bad = [
        GenerateRequest(template="{class} photo", out_dir=tmp_path),  # {class} but no class
        GenerateRequest(template="x", width=100, out_dir=tmp_path),
        GenerateRequest(template="x", steps=0, out_dir=tmp_path),
        GenerateRequest(template="   ", out_dir=tmp_path),
        GenerateRequest(template="x", scheduler="magic", out_dir=tmp_path),
    ]
    for request in bad:
        with pytest.raises(GenerationError):
            request.validate()
    assert render_prompt("{tag}, {class},  studio", "shoe", "ppz") == "ppz, shoe, studio"


def test_cancel_stops_at_the_next_step_and_saves_nothing_half_done(clean_txt2img, tiny_engine, tmp_path):
    request = GenerateRequest(
        template="a bag", seed=3, count=3, out_dir=tmp_path / "out", **{**TINY, "steps": 6}
    )
    job = tiny_engine.generate(request)
    steps_seen = []

    def on_progress(progress):
        if progress.total and progress.done:
            steps_seen.append(progress.done)
            if progress.done == 8:  # inside the second image
                job.cancel()

    outcome = tiny_engine.run(job, on_progress)
    assert isinstance(outcome, Cancelled)
    assert max(steps_seen) < 18  # it did not run the remaining images
    assert len(list((tmp_path / "out").glob("*.png"))) == 1  # the finished first image only
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_the_engine_job_emits_each_image_as_it_is_written(clean_txt2img, tiny_engine, tmp_path):
    request = GenerateRequest(template="shoe", seed=5, count=2, out_dir=tmp_path / "o", **TINY)
    emitted: list[tuple[GeneratedImage, bool]] = []
    outcome = tiny_engine.run(
        tiny_engine.generate(request), on_event=lambda image: emitted.append((image, image.path.exists()))
    )
    assert isinstance(outcome, Succeeded)
    assert [image for image, _ in emitted] == outcome.value  # in order, one event per image
    assert all(existed for _, existed in emitted)  # each on disk when it was announced


def test_cli_generate(tiny_models, tmp_path, capsys):
    out = tmp_path / "gen"
    code = cli(
        ["generate", "--prompt", "ppzocketv2, {class}, studio", "--class", "hand bag,shoe", "--count", "1",
         "--steps", "2", "--width", "64", "--height", "64", "--seed", "9", "--models", str(tiny_models),
         "--device", "cpu", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["hand-bag-9.png", "shoe-10.png"]
    assert str(out / "shoe-10.png") in capsys.readouterr().out


def test_cli_bad_input_exit_codes(tiny_models, tmp_path):
    base = ["generate", "--models", str(tiny_models), "--device", "cpu", "--out", str(tmp_path / "o")]
    assert cli([*base, "--prompt", "{class} photo"]) == 2  # no --class
    assert cli([*base, "--prompt", "x", "--width", "65"]) == 2
    assert cli([*base, "--prompt", "x", "--lora", str(tmp_path / "missing.safetensors")]) == 2
    pickle_lora = tmp_path / "evil.ckpt"
    pickle_lora.write_bytes(b"x")
    with pytest.raises(Exception, match=r"only \.safetensors"):
        parse_lora_arg(str(pickle_lora))
    assert not (tmp_path / "o").exists()
