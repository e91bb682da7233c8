"""Model registry, safe loading and the `models` subcommand, on tiny random-weight models."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from engine.cli.main import main as cli
from engine.models.checkpoints import load_state_dict
from engine.models.config import ROLES, ModelsConfig
from engine.models.errors import MissingModel, ModelError, UnsafeCheckpoint
from engine.models.registry import ModelRegistry


def test_make_tiny_writes_every_role_and_status_finds_them(tiny_models, capsys):
    assert cli(["models", "status", "--models", str(tiny_models)]) == 0
    out = capsys.readouterr().out
    for role in ROLES:
        line = next(line for line in out.splitlines() if line.startswith(role + " "))
        assert " found " in line, line
    assert "MISSING" not in out


def test_every_tiny_role_loads_and_runs(tiny_registry):
    from PIL import Image
    from segment_anything import SamPredictor

    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8))
    predictor = SamPredictor(tiny_registry.sam())
    predictor.set_image(np.asarray(image))
    masks, scores, _ = predictor.predict(point_coords=np.array([[40, 30]]), point_labels=np.array([1]))
    assert masks.shape == (3, 64, 96) and scores.shape == (3,)

    clip = tiny_registry.clip()
    with torch.no_grad():
        features = clip.model.encode_image(clip.preprocess(image).unsqueeze(0))
        text = clip.model.encode_text(clip.tokenizer(["a shoe", "a hand bag"]))
    assert features.shape[1] == text.shape[1] == 32

    depth = tiny_registry.depth()(image)
    assert depth.size == image.size and depth.mode == "RGB"

    pipe = tiny_registry.inpaint_pipeline(control=True)
    out = pipe(
        prompt="ppzocketv2, shoe",
        image=image.resize((64, 64)),
        mask_image=Image.new("L", (64, 64), 255),
        control_image=depth.resize((64, 64)),
        num_inference_steps=2,
        height=64,
        width=64,
    ).images[0]
    assert out.size == (64, 64)


def test_the_sd_tokenizer_matches_open_clips(tiny_registry):
    """The tokenizer folder make-tiny derives from open_clip's BPE gives the same ids as open_clip."""
    import open_clip

    text = "ppzocketv2, hand bag, stylish, studio photography"
    ids = tiny_registry.txt2img_pipeline().tokenizer(text).input_ids
    reference = open_clip.get_tokenizer("ViT-B-32")([text])[0].tolist()
    assert ids == reference[: len(ids)]
    assert ids[:4] == [49406, 1322, 1036, 24829] or len(ids) > 4  # starts with <|startoftext|>
    assert ids[0] == 49406 and ids[-1] == 49407


def test_a_malicious_pickle_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "sam_vit_b.pth"
    with open(path, "wb") as handle:
        pickle.dump({"image_encoder.pos_embed": Exploit()}, handle)
    with pytest.raises(UnsafeCheckpoint, match="unsafe pickle"):
        load_state_dict(path, "sam")
    assert not marker.exists()


def test_a_malicious_sam_checkpoint_gives_exit_3_through_the_loader(tiny_models, tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "bad.pth"
    bad.write_bytes(pickle.dumps({"x": Exploit()}))
    config = ModelsConfig.load(tiny_models).with_role("sam", str(bad), variant="vit_b")
    with pytest.raises(UnsafeCheckpoint):
        ModelRegistry(config, "cpu").sam()
    assert not marker.exists()


def test_a_missing_model_file_gives_exit_3_and_a_one_line_reason(tmp_path, capsys):
    toml = tmp_path / "models.toml"
    toml.write_text('[sam]\npath = "nowhere/sam_vit_b.pth"\nvariant = "vit_b"\n')
    assert cli(["models", "status", "--models", str(toml)]) == 3
    with pytest.raises(MissingModel) as caught:
        ModelRegistry(ModelsConfig.load(toml), "cpu").sam()
    message = str(caught.value)
    assert "\n" not in message
    assert "'sam'" in message and "nowhere/sam_vit_b.pth" in message and "models download sam" in message


def test_a_missing_models_file_named_explicitly_is_an_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        ModelsConfig.load(tmp_path / "absent.toml")


def test_a_checkpoint_of_the_wrong_variant_names_the_fix(tiny_models):
    config = ModelsConfig.load(tiny_models)
    wrong = config.with_role("sam", str(config.spec("sam").local_path()), variant="vit_b")
    with pytest.raises(ModelError, match="does not match variant 'vit_b'"):
        ModelRegistry(wrong, "cpu").sam()


def test_a_non_checkpoint_file_is_a_clear_error(tmp_path, tiny_models):
    junk = tmp_path / "clip.safetensors"
    junk.write_bytes(b"this is not a safetensors file")
    with pytest.raises(ModelError, match="not a readable safetensors"):
        load_state_dict(junk, "clip")


def test_the_registry_releases_least_recently_used_models_over_budget(tiny_models):
    registry = ModelRegistry(ModelsConfig.load(tiny_models), "cpu", budget_bytes=8_000_000)
    registry.sam()  # ~0.4 MB
    registry.clip()  # ~6.6 MB
    assert set(registry.resident()) == {"sam", "clip"}
    registry.sam()  # now the most recently used
    registry.controlnet_depth()  # ~1.7 MB: over budget, so the least recently used (clip) goes
    assert set(registry.resident()) == {"sam", "controlnet_depth"}
    assert registry.sam() is registry.sam()


def test_a_model_that_grew_is_counted_again_and_makes_room(tiny_models):
    import copy

    registry = ModelRegistry(ModelsConfig.load(tiny_models), "cpu", budget_bytes=8_000_000)
    registry.sam()  # ~0.4 MB, least recently used from here on
    bundle = registry.clip()  # ~6.6 MB
    before = registry.resident()["clip"]
    bundle.bf16_visual = copy.deepcopy(bundle.model.visual).to(torch.bfloat16)  # as ClipScorer does
    registry.recount("clip")
    assert registry.resident()["clip"] > before  # the copy counts
    assert set(registry.resident()) == {"clip"}  # and pushed the budget over: sam went
    registry.recount("depth")  # not resident: nothing happens
    assert set(registry.resident()) == {"clip"}


def test_models_download_fails_fast_and_clearly_offline(monkeypatch, capsys):
    import engine.models.download as download

    monkeypatch.setattr(download, "_online", lambda *a, **k: False)
    assert cli(["models", "download", "sam"]) == 1
    assert "needs the network" in capsys.readouterr().err


def test_saved_models_toml_round_trips(tmp_path, tiny_models):
    config = ModelsConfig.load(tiny_models)
    saved = config.save(tmp_path / "user" / "models.toml")
    again = ModelsConfig.load(saved)
    for role in ROLES:
        assert again.spec(role).local_path() == config.spec(role).local_path()
        assert again.spec(role).options == config.spec(role).options


def test_device_auto_falls_back_to_cpu_fp32_and_unknown_devices_are_refused():
    from engine.runtime.device import choose_device
    from engine.runtime.jobs import EngineError

    choice = choose_device("cpu")
    assert choice.device.type == "cpu" and choice.dtype == torch.float32
    if not torch.cuda.is_available():
        assert choose_device("auto").device.type in ("cpu", "mps")
        with pytest.raises(EngineError, match="no CUDA"):
            choose_device("cuda")
    with pytest.raises(EngineError):
        choose_device("tpu")
