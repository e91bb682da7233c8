"""RAW files through LibRaw: real DNGs written at test time (tests/fixtures/raw.py)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.imaging import raw
from engine.imaging.read import ImageReadError, list_images, open_image, read_image
from engine.imaging.thumbnails import ThumbnailCache
from tests.fixtures.raw import BLUE, RED, write_dng


def _near(pixel, colour, tolerance=40) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, int) - np.asarray(colour)) < tolerance))


@pytest.mark.parametrize(
    ("orientation", "upright", "top_left"),
    [(1, (64, 48), RED), (3, (64, 48), BLUE), (6, (48, 64), RED), (8, (48, 64), BLUE)],
)
def test_preview_is_the_embedded_jpeg_turned_by_the_camera_orientation(
    tmp_path, orientation, upright, top_left
):
    path = write_dng(tmp_path / "shot.dng", orientation=orientation)
    preview = raw.raw_preview(path)
    assert preview.image.size == upright
    pixels = np.asarray(preview.image)
    assert _near(pixels[0, 0], top_left)
    assert _near(pixels[-1, -1], BLUE if top_left == RED else RED)
    full = (128, 96) if orientation in (1, 3) else (96, 128)
    assert preview.full_size == full
    assert not preview.is_full_size


@pytest.mark.parametrize(
    ("orientation", "bright_corner"), [(1, "top_left"), (6, "top_left"), (8, "bottom_right")]
)
def test_full_decode_is_upright_and_cached(tmp_path, orientation, bright_corner):
    path = write_dng(tmp_path / "shot.dng", orientation=orientation)
    cache = tmp_path / "cache"
    rgb = raw.decode_raw(path, cache)
    assert rgb.dtype == np.uint8 and rgb.shape == ((96, 128, 3) if orientation == 1 else (128, 96, 3))
    bright, dark = (rgb[0, 0], rgb[-1, -1]) if bright_corner == "top_left" else (rgb[-1, -1], rgb[0, 0])
    assert int(bright.mean()) > int(dark.mean()) + 100  # the bright half of the sensor, where it belongs
    cached = list(cache.glob("*/*.npy"))
    assert len(cached) == 1
    np.testing.assert_array_equal(np.load(cached[0]), rgb)
    # From the cache now: a marked cache entry comes back as it is.
    marked = rgb.copy()
    marked[0, 0] = (1, 2, 3)
    np.save(cached[0], marked)
    assert tuple(raw.decode_raw(path, cache)[0, 0]) == (1, 2, 3)


def test_read_image_uses_a_full_size_preview_else_the_full_decode(tmp_path):
    small = write_dng(tmp_path / "small.dng", preview=(64, 48))
    full = write_dng(tmp_path / "full.dng", preview=(128, 96))
    loaded = read_image(small, raw_cache=tmp_path / "cache")
    assert loaded.size == (128, 96) and loaded.info["raw_source"] == "decode"
    loaded = read_image(full, raw_cache=tmp_path / "cache")
    assert loaded.size == (128, 96) and loaded.info["raw_source"] == "preview"
    assert _near(loaded.rgb[0, 0], RED)
    again = read_image(full, raw_cache=tmp_path / "cache")  # flipping back: the working image cached
    assert again.info["raw_source"] == "cache"
    np.testing.assert_array_equal(again.rgb, loaded.rgb)
    with open_image(small, raw_cache=tmp_path / "cache") as image:  # PIL readers see the same size
        assert image.size == (128, 96)


def test_a_raw_without_preview_falls_back_to_a_half_size_decode(tmp_path):
    path = write_dng(tmp_path / "bare.dng", preview=None)
    preview = raw.raw_preview(path)
    assert preview.image.size == (64, 48) and preview.full_size == (128, 96)


def test_thumbnail_of_a_raw_comes_from_its_preview(tmp_path):
    path = write_dng(tmp_path / "shot.dng", orientation=6)
    cache = ThumbnailCache(tmp_path / "thumbs", size=32)
    thumb = cache.load(path)
    assert thumb.error == ""
    assert thumb.rgb.shape[:2] == (32, 24)  # upright, long side 32
    assert _near(thumb.rgb[0, 0], RED, 60)
    assert thumb.original_size == (96, 128)
    assert cache.load(path).from_cache


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "empty file"), (b"II*\x00garbage" * 50, "RAW"), (b"not a raw at all" * 100, "RAW")],
)
def test_corrupt_raw_gives_one_clear_line(tmp_path, content, words):
    path = tmp_path / "broken.nef"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=words) as caught:
        read_image(path)
    assert "\n" not in str(caught.value) and "broken.nef" in str(caught.value)
    thumb = ThumbnailCache(tmp_path / "thumbs").load(path)
    assert thumb.rgb is None and "broken.nef" in thumb.error


def test_truncated_dng_is_a_clear_error(tmp_path):
    path = write_dng(tmp_path / "cut.dng", preview=None)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageReadError, match=r"cut\.dng"):
        raw.decode_raw(path, tmp_path / "cache")


def test_raw_files_are_listed_and_paired_with_their_jpeg(tmp_path):
    write_dng(tmp_path / "IMG_0001.dng")
    (tmp_path / "IMG_0001.JPG").write_bytes(b"x")
    write_dng(tmp_path / "IMG_0002.dng")
    (tmp_path / "IMG_0003.jpg").write_bytes(b"x")
    (tmp_path / "IMG_0003.png").write_bytes(b"x")
    listed = list_images(tmp_path)
    assert [p.name for p in listed] == [
        "IMG_0001.dng",
        "IMG_0001.JPG",
        "IMG_0002.dng",
        "IMG_0003.jpg",
        "IMG_0003.png",
    ]
    shots = raw.pair_raw_jpeg(listed)
    assert [(p.name, [c.name for c in companions]) for p, companions in shots] == [
        ("IMG_0001.JPG", ["IMG_0001.dng"]),
        ("IMG_0002.dng", []),
        ("IMG_0003.jpg", []),
        ("IMG_0003.png", []),
    ]


def test_enhancement_reads_a_raw_at_the_size_the_canvas_uses(tmp_path):
    from engine.imaging.native import read_native

    path = write_dng(tmp_path / "shot.dng", orientation=6)
    native = read_native(path)
    assert native.size == read_image(path).size == (96, 128) and native.mode == "RGB"


def test_capture_time_of_a_raw(tmp_path):
    from engine.imaging.capture import capture_time

    assert capture_time(write_dng(tmp_path / "a.dng")) == "2026-03-14T09:26:53"
    bare = write_dng(tmp_path / "b.dng", datetime=None)
    assert capture_time(bare)[:4] >= "2026"  # no EXIF time: the file's own time
