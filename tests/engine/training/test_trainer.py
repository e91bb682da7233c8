"""LoRA training on the tiny SD 1.5: the loss falls, the kohya file loads back into the generate and inpaint
pipelines and changes them, resume continues exactly, bad input gives clear messages and no partial LoRA."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from engine.cli.main import main as cli
from engine.diffusion.generate import generate_images
from engine.diffusion.lora import LoraSpec, apply_loras
from engine.diffusion.recipes import GenerateRequest
from engine.imaging.outputs import parse_parameters
from engine.runtime.jobs import Cancelled, Failed, Job, Succeeded
from engine.training.config import StepEvent, TrainingConfig, TrainingError
from engine.training.data import TrainingInputError, make_buckets, nearest_bucket, scan_folder
from engine.training.samples import SampleSettings
from engine.training.trainer import LoraTrainer, train_lora
from tests.fixtures.lora import one_torch_thread, product_photos  # noqa: F401 (an autouse fixture)

TAG = "ppzocketv2"
# A1111's SD 1.5 LoRA loader (extensions-builtin/Lora/networks.py) converts exactly these key shapes.
A1111_UNET = re.compile(
    r"lora_unet_(down_blocks_\d+_attentions_\d+|mid_block_attentions_\d+|up_blocks_\d+_attentions_\d+)_.+"
)
A1111_TEXT = re.compile(r"lora_te_text_model_encoder_layers_\d+_.+")
A1111_PART = ("lora_down.weight", "lora_up.weight", "alpha")


def training_job(config: TrainingConfig, registry, on_event=None) -> Job:
    """The training as the engine runs it, with `on_event` watching its events."""
    job = Job(lambda ctx: train_lora(config, registry, ctx))
    if on_event is not None:
        job.add_event_callback(on_event)
    return job


def run_job(job: Job):
    job._run()  # on this thread: the engine thread is tested elsewhere
    return job.outcome


def small_config(folder: Path, out: Path | None = None, **overrides) -> TrainingConfig:
    out = out or folder / "lora.safetensors"
    settings = dict(folder=folder, tag=TAG, out=out, rank=4, learning_rate=1e-2,
                    repeats=2, epochs=2, batch_size=2, resolution=128, seed=7)  # fmt: skip
    return TrainingConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def trained(tiny_registry, tmp_path_factory):
    """One training run of 28 steps on four synthetic product photos (square, wide, tall)."""
    root = tmp_path_factory.mktemp("train")
    # SD 1.5's buckets step by 64 px: at 128 px a 2:1 image gets a bucket of its own (3:2 would not).
    images = product_photos(root / "shoot", [(64, 64), (72, 72), (128, 64), (64, 128)])
    (root / "shoot" / "product-00.txt").write_text(f"{TAG}, a red bag on a table", encoding="utf-8")
    config = small_config(
        root / "shoot", root / "out" / "product.safetensors", repeats=3, epochs=4, measure_fixed_loss=True,
        sample=SampleSettings(every_epochs=2, steps=2, product_class="hand bag"),
    )  # fmt: skip
    events = []
    outcome = run_job(training_job(config, tiny_registry, events.append))
    assert isinstance(outcome, Succeeded), outcome
    return config, outcome.value, events, images


def test_training_lowers_the_loss(trained):
    _, result, events, _ = trained
    assert result.steps == 28 == len(result.losses)
    print(f"\nfixed-noise loss {result.fixed_loss_before:.4f} → {result.fixed_loss_after:.4f}")
    assert result.fixed_loss_after < 0.9 * result.fixed_loss_before
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [e.step for e in steps] == list(range(1, 29)) and steps[-1].epoch == 4
    assert all(np.isfinite(e.loss) for e in steps)


def test_checkpoints_each_epoch_and_samples(trained):
    config, result, _, _ = trained
    assert [p.name for p in result.checkpoints] == [f"product-{e:06d}.safetensors" for e in (1, 2, 3, 4)]
    assert config.resume_file.exists()
    assert [p.name for p in result.samples] == ["e0002-00.png", "e0004-00.png"]
    fields = parse_parameters(Image.open(result.samples[0]).info["parameters"])
    assert fields["Prompt"].startswith(f"{TAG}, hand bag, stylish")
    assert not list(config.out.parent.rglob(".*.tmp"))


def test_saved_file_is_in_the_kohya_format_a1111_loads(trained, tiny_registry):
    _, result, _, _ = trained
    state = load_file(str(result.lora))
    modules: dict[str, set[str]] = {}
    for key in state:
        module, _, part = key.partition(".")
        assert part in A1111_PART, key
        assert A1111_UNET.fullmatch(module), key  # UNet only: no text-encoder training asked
        modules.setdefault(module, set()).add(part)
    # kohya names a layer `lora_unet_` + its diffusers module path with `_` for `.`: each is a real layer.
    unet = tiny_registry.txt2img_pipeline().unet
    real = {"lora_unet_" + name.replace(".", "_") for name, _ in unet.named_modules()}
    assert set(modules) <= real and len(modules) == 80  # 4 projections × 2 attentions × 10 transformers
    for module, parts in modules.items():
        assert parts == set(A1111_PART)
        down, up = state[f"{module}.lora_down.weight"], state[f"{module}.lora_up.weight"]
        assert down.shape[0] == up.shape[1] == 4 and float(state[f"{module}.alpha"]) == 4.0
        assert up.abs().max() > 0  # trained: B started at zero
    with safe_open(str(result.lora), "pt") as handle:
        metadata = handle.metadata()
    assert metadata["ss_network_dim"] == "4" and metadata["ss_network_module"] == "networks.lora"
    assert TAG in metadata["ss_tag_frequency"]


def test_lora_loads_into_the_generate_pipeline_and_changes_it(trained, tiny_registry, tmp_path):
    _, result, _, _ = trained

    def image(loras, name):
        request = GenerateRequest(template=f"{TAG}, bag", seed=3, width=64, height=64, steps=2, loras=loras,
                                  out_dir=tmp_path / name)  # fmt: skip
        job = Job(lambda ctx: generate_images(request, tiny_registry, ctx))
        job._run()
        return np.asarray(Image.open(job.result(0)[0].path), dtype=np.int16)

    try:
        plain, tuned = image([], "plain"), image([LoraSpec(result.lora, 1.0)], "lora")
    finally:
        apply_loras(tiny_registry.txt2img_pipeline(), [])
    assert np.abs(tuned - plain).mean() > 0.5


def test_lora_loads_into_the_inpaint_pipeline_and_changes_it(trained, tiny_registry):
    _, result, _, _ = trained
    pipe = tiny_registry.inpaint_pipeline()  # ControlNet inpainting, as enhancement uses it
    picture = Image.new("RGB", (64, 64), (200, 180, 160))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))

    def inpaint():
        return pipe(prompt=f"{TAG}, bag", image=picture, mask_image=mask, control_image=picture, height=64,
                    width=64, num_inference_steps=2, output_type="np",
                    generator=torch.Generator("cpu").manual_seed(0)).images[0]  # fmt: skip

    try:
        apply_loras(pipe, [])
        plain = inpaint()
        apply_loras(pipe, [LoraSpec(result.lora, 1.0)])
        tuned = inpaint()
    finally:
        apply_loras(pipe, [])
    assert np.abs(tuned - plain).max() > 1e-3


def test_cancel_keeps_checkpoints_and_resume_continues_exactly(tiny_registry, tmp_path):
    folder = tmp_path / "shoot"
    product_photos(folder, [(64, 64), (64, 64), (80, 80)], seed=1)
    whole = small_config(folder, tmp_path / "whole.safetensors")
    assert isinstance(run_job(training_job(whole, tiny_registry)), Succeeded)

    cut = small_config(folder, tmp_path / "cut.safetensors")
    job = None

    def cancel_after_four(event):
        if isinstance(event, StepEvent) and event.step == 4:  # inside the second epoch
            job.cancel()

    job = training_job(cut, tiny_registry, cancel_after_four)
    assert isinstance(run_job(job), Cancelled)
    assert not cut.out.exists()  # never a partial LoRA
    assert (cut.checkpoint_dir / "cut-000001.safetensors").exists()  # the last checkpoint is kept
    assert torch.load(cut.resume_file, weights_only=True)["step"] == 4

    resumed = small_config(folder, cut.out, resume=cut.resume_file)
    steps = []
    outcome = run_job(training_job(resumed, tiny_registry, lambda e: steps.append(getattr(e, "step", None))))
    assert isinstance(outcome, Succeeded) and outcome.value.steps == 6
    assert [s for s in steps if s] == [5, 6]  # it continued from the saved step
    a, b = load_file(str(whole.out)), load_file(str(cut.out))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-3, rtol=0)  # fp16 files: same up to rounding

    wrong = small_config(folder, tmp_path / "w.safetensors", rank=8, resume=cut.resume_file)
    outcome = run_job(training_job(wrong, tiny_registry))
    assert isinstance(outcome, Failed) and "rank: checkpoint 4, now 8" in outcome.message


def test_text_encoder_training_writes_lora_te_keys_that_load(tiny_registry, tmp_path):
    folder = tmp_path / "shoot"
    product_photos(folder, [(64, 64), (64, 64)])
    config = small_config(folder, tmp_path / "te.safetensors", train_text_encoder=True, epochs=1, repeats=1)
    assert isinstance(run_job(training_job(config, tiny_registry)), Succeeded)
    keys = load_file(str(config.out)).keys()
    text_modules = {k.partition(".")[0] for k in keys if k.startswith("lora_te")}
    assert text_modules and all(A1111_TEXT.fullmatch(m) for m in text_modules)
    pipe = tiny_registry.txt2img_pipeline()
    ids = pipe.tokenizer([f"{TAG}, bag"], return_tensors="pt").input_ids
    try:
        apply_loras(pipe, [])
        with torch.no_grad():
            before = pipe.text_encoder(ids)[0]
        apply_loras(pipe, [LoraSpec(config.out, 1.0)])
        with torch.no_grad():
            after = pipe.text_encoder(ids)[0]
    finally:
        apply_loras(pipe, [])
    assert (after - before).abs().max() > 1e-4  # the text-encoder half of the LoRA is applied


def test_a_failure_mid_training_leaves_no_lora_file(tiny_registry, tmp_path):
    folder = tmp_path / "shoot"
    product_photos(folder, [(64, 64), (64, 64)])
    config = small_config(folder, tmp_path / "out" / "x.safetensors")

    def explode(event):
        if isinstance(event, StepEvent) and event.step == 3:
            raise RuntimeError("disk unplugged")

    outcome = run_job(training_job(config, tiny_registry, explode))
    assert isinstance(outcome, Failed) and outcome.message == "disk unplugged"
    assert not config.out.exists() and not list((tmp_path / "out").rglob(".*.tmp"))


def test_gpu_out_of_memory_gives_advice_and_keeps_checkpoints(tiny_registry, tmp_path, monkeypatch):
    folder = tmp_path / "shoot"
    product_photos(folder, [(64, 64), (64, 64)])
    config = small_config(folder, tmp_path / "oom.safetensors")
    real_step = LoraTrainer._train_step

    def step(self, indices):
        if self.step == 2:  # the first step of epoch 2
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, indices)

    monkeypatch.setattr(LoraTrainer, "_train_step", step)
    outcome = run_job(training_job(config, tiny_registry))
    assert isinstance(outcome, Failed) and "Out of GPU memory" in outcome.message
    assert "--batch-size 1" in outcome.message and outcome.exit_code == 2
    assert not config.out.exists() and (config.checkpoint_dir / "oom-000001.safetensors").exists()


# -- the training set: no models needed ------------------------------------------------------------------
def test_buckets_follow_the_aspect_ratio():
    buckets = make_buckets(512, 64)
    assert (512, 512) in buckets and all(w * h <= 512 * 512 and w % 64 == 0 == h % 64 for w, h in buckets)
    assert nearest_bucket((3000, 2000), buckets) == (640, 384)  # 3:2 → the nearest kohya bucket (5:3)
    assert nearest_bucket((2000, 3000), buckets) == (384, 640)
    assert nearest_bucket((800, 800), buckets) == (512, 512)
    with pytest.raises(TrainingInputError, match="below the model's size step of 64 px"):
        make_buckets(32, 64)


def test_scan_reports_orphan_captions_tiny_and_broken_images(tmp_path):
    product_photos(tmp_path, [(64, 64), (16, 16)])
    (tmp_path / "gone.txt").write_text("ppzocketv2, a shoe")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG but not really")
    found = scan_folder(tmp_path, TAG, 64, 8)
    assert [i.path.name for i in found.images] == ["product-00.png"]
    assert found.images[0].caption == TAG  # no caption file: the tag alone
    text = "\n".join(found.warnings)
    assert "gone.txt: caption without an image" in text
    assert "product-01.png: 16×16 is too small" in text and "broken.png" in text


def test_huge_images_are_skipped_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.imaging.read.MAX_PIXELS", 80 * 80)  # a decompression-bomb limit scaled down
    product_photos(tmp_path, [(64, 64), (100, 100)])
    found = scan_folder(tmp_path, TAG, 64, 8)
    assert [i.path.name for i in found.images] == ["product-00.png"]
    assert "product-01.png: 100×100 is larger than 6,400 pixels" in found.warnings[0]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "No images to train on"),
        (lambda d: (d / "a.txt").write_text("ppzocketv2"), "1 caption file(s) without images"),
        (lambda d: product_photos(d, [(12, 12), (20, 10)]), "too small"),
    ],
)
def test_unusable_folders_are_clear_errors(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(TrainingInputError, match=re.escape(message)):
        scan_folder(tmp_path, TAG, 512, 64)


def test_bad_settings_are_refused(tmp_path):
    (tmp_path / "taken.safetensors").write_bytes(b"x")
    for overrides, message in [
        ({"out": tmp_path / "x.pt"}, "saved as .safetensors"),
        ({"out": tmp_path / "taken.safetensors"}, "exists"),
        ({"rank": 0}, "rank 0"),
        ({"resolution": 500}, "resolution 500"),
        ({"resolution": 32}, "from 64"),  # below SD 1.5's bucket step: it used to divide by zero
        ({"tag": "a, b"}, "one token"),
        ({"resume": tmp_path / "none.pt"}, "not found"),
    ]:
        with pytest.raises(TrainingError, match=re.escape(message)):
            small_config(tmp_path, **{"out": tmp_path / "ok.safetensors", **overrides}).validate()


def test_cli_bad_input_exit_codes_and_no_lora(tiny_models, tmp_path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "o.safetensors"
    args = ["--tag", TAG, "--models", str(tiny_models), "--device", "cpu"]
    assert cli(["train-lora", str(tmp_path / "empty"), "--out", str(out), *args]) == 2
    assert cli(["train-lora", str(tmp_path / "missing"), "--out", str(out), *args]) == 2
    assert cli(["train-lora", str(tmp_path / "empty"), "--out", str(tmp_path / "o.ckpt"), *args]) == 2
    assert not out.exists()
