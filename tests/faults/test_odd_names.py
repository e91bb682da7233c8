"""File names and folder entries a shoot folder may hold: a name that is not valid UTF-8 is filtered and
reported (escaped in the JSON), entries named like images that are not readable images are reported (never
silently left out), and a symlink loop with --recursive ends."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from engine.project.store import ProjectStore
from tests.faults.helpers import TINY_SAM_ARGS, run_cli, small_shoot

LATIN1 = os.fsdecode(b"caf\xe9.png")  # what Python makes of the bytes: caf + a surrogate escape


@pytest.fixture
def latin1_shoot(tmp_path):
    shoot = small_shoot(tmp_path / "shoot", 1)
    try:
        shutil.copy(shoot / "img0.png", shoot / LATIN1)
    except (UnicodeEncodeError, OSError):
        pytest.skip("this file system refuses names that are not UTF-8")
    return shoot


def test_a_name_that_is_not_utf8_is_filtered_and_reported(latin1_shoot, tiny_models, tmp_path, capsys):
    report = tmp_path / "report.json"
    code, _, error = run_cli(
        capsys, "filter", latin1_shoot, "--models", tiny_models, "--report", report, *TINY_SAM_ARGS
    )
    assert code == 0, error
    text = report.read_bytes().decode("utf-8")  # valid UTF-8 JSON
    images = {os.path.basename(i["path"]): i for i in json.loads(text)["images"]}
    assert set(images) == {"img0.png", "caf\\xe9.png"}  # the odd byte written escaped
    assert images["caf\\xe9.png"]["verdict"] != "error", images
    with ProjectStore.open(latin1_shoot) as store:  # the store gives the real name back
        assert {e.path.name for e in store.images()} == {"img0.png", LATIN1}


def test_entries_named_like_images_are_reported_not_omitted(tiny_models, tmp_path, capsys):
    shoot = small_shoot(tmp_path / "shoot", 1)
    (shoot / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    (shoot / "x.jpg").mkdir()
    shutil.copy(shoot / "img0.png", shoot / "..png")
    (shoot / "sub").mkdir()
    (shoot / "sub" / "loop").symlink_to(shoot, target_is_directory=True)  # a loop for --recursive
    report = tmp_path / "report.json"
    code, out, _ = run_cli(
        capsys, "filter", shoot, "--recursive", "--models", tiny_models, "--report", report, *TINY_SAM_ARGS
    )
    assert code == 0
    images = {os.path.basename(i["path"]): i for i in json.loads(report.read_text("utf-8"))["images"]}
    assert set(images) == {"img0.png", "dangling.jpg", "x.jpg", "..png"}
    assert "broken link" in images["dangling.jpg"]["error"]
    assert "folder" in images["x.jpg"]["error"] and "hidden" in images["..png"]["error"]
    assert "4 images" in out


def test_files_of_identical_content_each_report_their_own_name(tiny_models, tmp_path, capsys):
    shoot = small_shoot(tmp_path / "shoot", 1)
    (shoot / "zero.jpg").write_bytes(b"")
    (shoot / "zero.png").write_bytes(b"")  # same content, one stored result
    report = tmp_path / "report.json"
    code, _, _ = run_cli(capsys, "filter", shoot, "--models", tiny_models, "--report", report, *TINY_SAM_ARGS)
    assert code == 0
    images = {os.path.basename(i["path"]): i for i in json.loads(report.read_text("utf-8"))["images"]}
    for name in ("zero.jpg", "zero.png"):
        assert images[name]["verdict"] == "error"
        assert images[name]["error"].startswith(f"{name}: empty file"), images[name]
