"""BLIP captions beside the images (kohya convention) with the tiny BLIP model."""

from __future__ import annotations

import pytest

from engine.cli.main import main as cli
from engine.runtime.jobs import Job
from engine.training.captions import CaptionError, caption_folder, caption_path, read_caption, tagged
from tests.fixtures.lora import one_torch_thread, product_photos  # noqa: F401 (an autouse fixture)


def run(fn, on_event=None):
    job = Job(fn)
    if on_event is not None:
        job.add_event_callback(on_event)
    job._run()
    return job.result(0)


def test_tagged_puts_the_tag_first_once():
    assert tagged("a black leather bag on a white table", "ppzocketv2") == (
        "ppzocketv2, a black leather bag on a white table"
    )
    assert tagged("", "ppzocketv2") == "ppzocketv2"  # the tiny BLIP can say nothing: the tag alone
    assert tagged("ppzocketv2, a bag", "ppzocketv2") == "ppzocketv2, a bag"
    assert tagged("  a   bag ,", None) == "a bag"


def test_caption_folder_writes_tagged_txt_and_keeps_existing(tiny_registry, tmp_path):
    images = product_photos(tmp_path, [(80, 64), (64, 96), (70, 70)])
    caption_path(images[0]).write_text("my own words", encoding="utf-8")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    before = [p.read_bytes() for p in images]
    seen = []
    report = run(lambda ctx: caption_folder(tmp_path, tiny_registry, ctx, tag="ppzocketv2"), seen.append)
    assert report.kept == [caption_path(images[0])]
    assert sorted(report.written) == sorted(caption_path(p) for p in images[1:])
    assert [caption.image for caption in seen] == images[1:]  # one event per caption written
    assert [read_caption(c.image) for c in seen] == [c.text for c in seen]
    assert len(report.problems) == 1 and "broken.jpg" in report.problems[0]
    assert read_caption(images[0]) == "my own words"  # kept: no --overwrite
    for image in images[1:]:
        text = read_caption(image)
        assert text == "ppzocketv2" or text.startswith("ppzocketv2, ")
    assert [p.read_bytes() for p in images] == before  # originals untouched
    assert not list(tmp_path.glob(".*.tmp"))

    again = run(lambda ctx: caption_folder(tmp_path, tiny_registry, ctx, tag="ppz2", overwrite=True))
    assert len(again.written) == 3 and read_caption(images[0]).startswith("ppz2")


def test_blip_text_is_decoded_and_tagged(tiny_registry, tmp_path, monkeypatch):
    """The tiny BLIP's random weights may emit nothing; a real caption must come out tagged and clean."""
    import engine.training.captions as captions

    product_photos(tmp_path, [(64, 64)])
    monkeypatch.setattr(
        captions, "blip_captions", lambda bundle, images: ["a red bag on a table"] * len(images)
    )
    report = run(lambda ctx: caption_folder(tmp_path, tiny_registry, ctx, tag="ppzocketv2"))
    assert report.written[0].read_text(encoding="utf-8") == "ppzocketv2, a red bag on a table"


def test_real_blip_call_returns_one_string_per_image(tiny_registry, tmp_path):
    from PIL import Image

    texts = captions_for(
        [Image.new("RGB", (64, 48), "white"), Image.new("RGB", (30, 90), "red")], tiny_registry
    )
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)


def captions_for(images, registry):
    from engine.training.captions import blip_captions

    return blip_captions(registry.captioner(), images)


def test_no_images_is_a_clear_error(tiny_registry, tmp_path):
    (tmp_path / "orphan.txt").write_text("ppzocketv2")
    with pytest.raises(CaptionError, match="No images"):
        run(lambda ctx: caption_folder(tmp_path, tiny_registry, ctx, tag="x"))


def test_cli_caption(tiny_models, tmp_path, capsys):
    product_photos(tmp_path / "shoot", [(64, 64), (96, 64)])
    args = ["--models", str(tiny_models), "--device", "cpu"]
    assert cli(["caption", str(tmp_path / "shoot"), "--tag", "ppzocketv2", *args]) == 0
    assert "2 caption(s) written" in capsys.readouterr().out
    assert all(read_caption(p).startswith("ppzocketv2") for p in (tmp_path / "shoot").glob("*.png"))
    assert cli(["caption", str(tmp_path / "shoot"), *args]) == 0
    assert "0 caption(s) written, 2 kept" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert cli(["caption", str(tmp_path / "empty"), *args]) == 2
    assert cli(["caption", str(tmp_path / "nope"), *args]) == 2
