"""Thumbnails: draft decoding gives the right upright size, the disk cache is used and invalidated,
broken files give a message, and the loader works in the background, newest request first."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from engine.imaging.thumbnails import ThumbnailCache


def write_jpeg(path, size=(3000, 2000), colour=(200, 30, 30), orientation=None):
    image = Image.new("RGB", size, colour)
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1] // 4))  # a blue block top-left
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(path, quality=90, exif=exif.tobytes())
    return path


def test_a_large_jpeg_becomes_a_small_upright_thumbnail_and_is_cached(tmp_path):
    source = write_jpeg(tmp_path / "a.jpg")
    cache = ThumbnailCache(tmp_path / "cache", size=256)
    first = cache.load(source)
    assert first.error == "" and not first.from_cache
    assert first.rgb.shape == (171, 256, 3) and first.original_size == (3000, 2000)
    assert first.rgb[150, 200, 0] > 150 and first.rgb[10, 10, 2] > 150  # red body, blue corner
    second = cache.load(source)
    assert second.from_cache and second.original_size == (3000, 2000)
    assert np.abs(second.rgb.astype(int) - first.rgb.astype(int)).mean() < 3
    # Touching the file changes its key: the stale thumbnail is not used.
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not cache.load(source).from_cache


def test_exif_rotation_is_applied(tmp_path):
    source = write_jpeg(tmp_path / "rotated.jpg", orientation=6)  # stored landscape, shown portrait
    thumb = ThumbnailCache(tmp_path / "cache").load(source)
    assert thumb.rgb.shape[0] > thumb.rgb.shape[1]
    assert thumb.original_size == (2000, 3000)


def test_broken_and_empty_files_give_messages_not_exceptions(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    good = write_jpeg(tmp_path / "cut.jpg", size=(800, 600))
    (tmp_path / "cut2.jpg").write_bytes(good.read_bytes()[:500])
    cache = ThumbnailCache(tmp_path / "cache")
    assert "empty" in cache.load(tmp_path / "empty.jpg").error
    assert "not an image" in cache.load(tmp_path / "text.jpg").error
    assert cache.load(tmp_path / "cut2.jpg").error
    assert cache.load(tmp_path / "gone.jpg").rgb is None


def test_png_with_alpha_and_16_bit_images_work(tmp_path):
    rgba = np.zeros((300, 400, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :200, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    Image.fromarray(np.full((300, 400), 40000, np.uint16)).save(tmp_path / "deep.png")
    cache = ThumbnailCache(tmp_path / "cache")
    alpha = cache.load(tmp_path / "alpha.png")
    assert alpha.rgb.shape == (192, 256, 3)
    assert tuple(alpha.rgb[100, 200]) == (255, 255, 255)  # transparent → white backdrop
    assert cache.load(tmp_path / "deep.png").rgb.mean() > 100


def test_prune_keeps_the_cache_under_its_cap(tmp_path):
    cache = ThumbnailCache(tmp_path / "cache", size=64)
    for i in range(6):
        cache.load(write_jpeg(tmp_path / f"{i}.jpg", size=(400, 300), colour=(i * 40, 0, 0)))
    files = list((tmp_path / "cache").glob("*/*.jpg"))
    assert len(files) == 6
    one = files[0].stat().st_size
    cache.prune(one * 3)
    assert 1 <= len(list((tmp_path / "cache").glob("*/*.jpg"))) <= 4
