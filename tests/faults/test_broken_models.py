"""A model that cannot load stops the run: exit 3 and one line naming what to fix, never exit 0 with every
image marked `error` (a batch script would take that for success)."""

from __future__ import annotations

import pytest

from tests.faults.helpers import TINY_SAM_ARGS, models_file, run_cli, small_shoot

BROKEN_ENTRIES = {
    "sam depth is text": ("sam", {"encoder_depth": "two"}, "encoder_depth"),
    "sam size negative": ("sam", {"image_size": -256}, "image_size"),
    "clip config a number": ("clip", {"config": 7}, "config"),
    "sam is /etc/passwd": ("sam", {"path": "/etc/passwd"}, "not a PyTorch checkpoint"),
}


@pytest.mark.parametrize("case", list(BROKEN_ENTRIES))
def test_a_bad_models_entry_stops_filter_with_exit_3(case, tiny_models, tmp_path, capsys):
    role, changes, named = BROKEN_ENTRIES[case]
    models = models_file(tiny_models, tmp_path / "models", **{role: changes})
    shoot = small_shoot(tmp_path / "shoot")
    code, out, error = run_cli(capsys, "filter", shoot, "--models", models, *TINY_SAM_ARGS)
    assert code == 3, (out, error)
    assert error.count("\n") == 0 and named in error and role in error
    assert " error " not in out  # no image was marked error as if the run had finished


def test_a_truncated_clip_safetensors_stops_filter_with_exit_3(tiny_models, tmp_path, capsys):
    clip = tmp_path / "clip.safetensors"
    data = (tiny_models.parent / "clip" / "open_clip_model.safetensors").read_bytes()
    clip.write_bytes(data[: len(data) // 2])
    models = models_file(tiny_models, tmp_path / "models", clip={"path": str(clip)})
    code, _, error = run_cli(capsys, "filter", small_shoot(tmp_path / "shoot"), "--models", models)
    assert code == 3 and "'clip'" in error and str(clip) in error and error.count("\n") == 0


def test_a_text_file_named_pth_is_not_called_an_unsafe_pickle(tiny_models, tmp_path, capsys):
    text = tmp_path / "sam.pth"
    text.write_text("<html>404 Not Found</html>\n")
    models = models_file(tiny_models, tmp_path / "models", sam={"path": str(text)})
    code, _, error = run_cli(capsys, "filter", small_shoot(tmp_path / "shoot"), "--models", models)
    assert code == 3 and "not a PyTorch checkpoint" in error and "unsafe" not in error


class _Payload:
    def __reduce__(self):
        return (print, ("payload ran",))


def test_an_unsafe_pickle_in_a_transformers_folder_is_refused_in_one_line(tiny_models, tmp_path, capsys):
    import pickle
    import shutil

    from engine.models.config import ModelsConfig
    from engine.models.errors import UnsafeCheckpoint
    from engine.models.registry import ModelRegistry
    from engine.runtime.errors import user_message

    depth = tmp_path / "depth"
    shutil.copytree(tiny_models.parent / "depth-tiny", depth)
    (depth / "model.safetensors").unlink()
    (depth / "pytorch_model.bin").write_bytes(pickle.dumps({"weight": _Payload()}))
    models = models_file(tiny_models, tmp_path / "models", depth={"path": str(depth)})
    registry = ModelRegistry(ModelsConfig.load(models), "cpu")
    with pytest.raises(UnsafeCheckpoint) as caught:
        registry.depth()
    message = user_message(caught.value)
    assert "unsafe pickle" in message and "weights_only" not in message and "\n" not in message
    assert caught.value.exit_code == 3
    assert "payload ran" not in capsys.readouterr().out
