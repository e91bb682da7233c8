"""Pillow's bomb limit is set deliberately to the app's 200 MP: a 100 MP medium-format photo (GFX100,
11648×8736) is read, a 20000×20000 PNG bomb is refused from its header with a clear message.

Each read runs in a fresh process so that its peak memory (VmHWM) is its own. Stated caps: the bomb
is refused within 200 MB (the interpreter and Pillow included, nothing decoded); the 100 MP JPEG is read
within 1.6 GB (about 5× the 305 MB RGB result: the decoded file, its RGB conversion and the array)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

READ = """
import json, sys
from engine.imaging.read import ImageReadError, read_image
try:
    shape, error = list(read_image(sys.argv[1]).rgb.shape), None
except ImageReadError as e:
    shape, error = None, str(e)
# VmHWM (not ru_maxrss, which a forked child inherits from a parent holding torch) is this program's own
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"shape": shape, "error": error, "peak_mb": peak / 1024}))
"""


def _read_in_fresh_process(path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", READ, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A real grayscale PNG of width×height zero pixels: a few hundred kB that would decode to 400 MB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor, rows = zlib.compressobj(1), b"\0" * (width + 1) * 250
    data = b"".join(compressor.compress(rows) for _ in range(height // 250)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def test_a_20000_square_png_bomb_is_refused_from_its_header(tmp_path):
    read = _read_in_fresh_process(png_bomb(tmp_path / "bomb.png", 20000, 20000))
    assert read["shape"] is None and "bomb.png: image too large" in read["error"]
    assert "200 megapixels" in read["error"]
    assert read["peak_mb"] < 200


def test_a_100_megapixel_jpeg_is_read(tmp_path):
    gray = np.zeros((8736, 11648), np.uint8)
    gray[::7] = 200
    Image.fromarray(gray).save(tmp_path / "gfx100.jpg", quality=50)
    del gray
    read = _read_in_fresh_process(tmp_path / "gfx100.jpg")
    assert read["error"] is None and read["shape"] == [8736, 11648, 3]
    assert read["peak_mb"] < 1600


def test_pillow_guard_is_the_apps_limit():
    from engine.imaging.read import MAX_PIXELS

    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS  # the thumbnails and the GUI preview use the same limit
