"""Training data: a truncated photo is skipped with a reason at scan time (defect 4: it was counted as
usable and then aborted the run, blamed on the file changing)."""

from __future__ import annotations

from PIL import Image

from engine.training.data import scan_folder
from tests.fixtures.lora import product_photos


def _truncated_jpeg(path, size=(256, 192)):
    Image.new("RGB", size, (200, 30, 40)).save(path, quality=95)
    Image.open(path).convert("RGB").save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_truncated_jpeg_is_skipped_with_its_reason(tmp_path):
    folder = tmp_path / "set"
    good = product_photos(folder, [(128, 128), (128, 96)])
    _truncated_jpeg(folder / "cut-short.jpg")
    found = scan_folder(folder, "ppzocketv2", 128, 64)
    assert [image.path for image in found.images] == good
    [warning] = [w for w in found.warnings if "cut-short.jpg" in w]
    assert "truncated" in warning and warning.endswith("(skipped)")
