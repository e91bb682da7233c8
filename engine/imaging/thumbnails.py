"""Thumbnails for the browser: JPEG draft decoding and a disk cache (the GUI loads them in the
background, newest request first: gui/browse/thumbnail_browser.py).

A 24 MP JPEG decodes in ~0.4 s; asking libjpeg for a 1/8-scale draft (`Image.draft`) decodes the same
file in a few tens of milliseconds, and a cached thumbnail reads back in about a millisecond. A camera
RAW file gives the JPEG preview the camera embedded (engine/imaging/raw.py), draft-decoded the same way
and turned upright by the camera's orientation: no demosaicing to browse.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
from PIL import Image, ImageOps

from engine.imaging import raw
from engine.imaging.read import open_image, to_rgb8
from engine.runtime.atomic import atomic_write_bytes
from engine.runtime.disk_cache import prune_oldest
from engine.runtime.jobs import EngineError

THUMB_SIZE = 256  # long side, pixels; the browser shows them at up to this size (HiDPI included)
CACHE_QUALITY = 88
CACHE_VERSION = 1  # bump when the thumbnail recipe changes so old cache entries are ignored


@dataclass(frozen=True)
class Thumbnail:
    """A decoded thumbnail: `rgb` is HWC uint8 (upright) or None with `error` saying why."""

    path: Path
    rgb: np.ndarray | None
    original_size: tuple[int, int] = (0, 0)  # (width, height) upright; (0, 0) when unknown
    error: str = ""
    from_cache: bool = False


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("ShootStudio", appauthor=False)) / "thumbnails"


class ThumbnailCache:
    """Makes thumbnails and keeps them as small JPEGs under `cache_dir`, keyed by path, size and mtime."""

    def __init__(self, cache_dir: Path | None = None, size: int = THUMB_SIZE):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.size = size

    def cache_path(self, path: Path) -> Path | None:
        """Where `path`'s thumbnail lives; a changed file (size or mtime) gets a new entry."""
        try:
            stat = path.stat()
        except OSError:
            return None
        key = f"{CACHE_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{self.size}"
        digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.jpg"

    def load(self, path: Path, keep: bool = True) -> Thumbnail:
        """The thumbnail of `path`, from the cache when possible; errors are returned, not raised.
        `keep=False` leaves writing it to the cache to the caller (`keep`), who may do it later: the
        browser shows it first."""
        path = Path(path)
        cached = self.cache_path(path)
        if cached is not None and cached.is_file():
            with contextlib.suppress(OSError, ValueError, SyntaxError):
                return self._read_cached(path, cached)
        try:
            thumb, original_size = self._decode(path)
        except EngineError as error:
            return Thumbnail(path, None, error=str(error))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            return Thumbnail(path, None, error=f"{path.name}: damaged or unreadable image ({error})")
        made = Thumbnail(path, np.asarray(thumb, dtype=np.uint8), original_size)
        if keep:
            self.keep(made)
        return made

    def keep(self, thumb: Thumbnail) -> None:
        """Write a decoded thumbnail to the cache (a no-op for one read from it, or an error)."""
        cached = self.cache_path(thumb.path)
        if cached is None or thumb.rgb is None or thumb.from_cache:
            return
        with contextlib.suppress(OSError):  # a read-only cache only costs speed
            self._write_cached(cached, Image.fromarray(thumb.rgb, "RGB"), thumb.original_size)

    def _decode(self, path: Path) -> tuple[Image.Image, tuple[int, int]]:
        if raw.is_raw(path):
            preview = raw.raw_preview(path, draft=self.size)
            thumb = preview.image
            thumb.thumbnail((self.size, self.size), Image.Resampling.BILINEAR, reducing_gap=2.0)
            return thumb.copy(), preview.full_size
        image = open_image(path)
        try:
            orientation = int(image.getexif().get(0x0112, 1) or 1)
            stored = image.size
            if image.format == "JPEG":
                # libjpeg scales by 1/2, 1/4 or 1/8 while decoding; it keeps at least the asked size.
                image.draft("RGB", (self.size, self.size))
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            rgb = to_rgb8(upright)
            rgb.thumbnail((self.size, self.size), Image.Resampling.BILINEAR, reducing_gap=2.0)
            original = stored[::-1] if orientation in (5, 6, 7, 8) else stored
            return rgb.copy(), (int(original[0]), int(original[1]))
        finally:
            image.close()

    def _read_cached(self, path: Path, cached: Path) -> Thumbnail:
        with Image.open(cached) as image:
            image.load()
            width, height = (int(v) for v in image.info.get("comment", b"0x0").decode().split("x"))
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
        return Thumbnail(path, rgb, (width, height), from_cache=True)

    def _write_cached(self, cached: Path, thumb: Image.Image, original_size: tuple[int, int]) -> None:
        buffer = io.BytesIO()
        comment = f"{original_size[0]}x{original_size[1]}".encode()
        thumb.save(buffer, format="JPEG", quality=CACHE_QUALITY, comment=comment)
        atomic_write_bytes(cached, buffer.getvalue())

    def prune(self, max_bytes: int) -> int:
        """Delete the least recently written entries until the cache fits `max_bytes`; return bytes freed."""
        if not self.cache_dir.is_dir():
            return 0
        return prune_oldest(self.cache_dir.glob("*/*.jpg"), max_bytes)
