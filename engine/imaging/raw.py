"""Camera RAW files through LibRaw (rawpy): the embedded JPEG preview for browsing, a cached full decode
for the models, and RAW + JPEG pairs of one shot.

Culling tools (Photo Mechanic, FastRawViewer) never demosaic to browse: every RAW format carries a JPEG
the camera rendered, and `RawPy.extract_thumb()` returns it without unpacking the sensor data. That JPEG
carries no orientation of its own: the camera's is LibRaw's `sizes.flip` (0 none, 3 half turn, 5 a
quarter turn counter-clockwise, 6 clockwise), applied here. The full decode (`postprocess`, camera white
balance, 8 bits, already upright) costs seconds, so the working image (full-size preview or full
decode) is cached as an `.npy` file keyed by the RAW's path, size and mtime; a size cap drops the
oldest entries.

Sizes are all upright (width, height). Every failure is an `ImageReadError` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
from PIL import Image

from engine.imaging.errors import ImageReadError
from engine.runtime.atomic import atomic_save
from engine.runtime.disk_cache import prune_oldest

# What LibRaw reads and cameras write (CR2, CR3, NEF, ARW, RAF, ORF, RW2, DNG and the less common ones).
RAW_SUFFIXES = frozenset(
    {
        ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".kdc", ".mef", ".mos",
        ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f",
    }
)  # fmt: skip
JPEG_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})
DECODE_CACHE_VERSION = 1
DECODE_CACHE_CAP = 4 << 30  # 24 MP decodes are ~72 MB each: a few dozen stay cached
SCREEN_SIDE = 1400  # long side of the preview the canvas shows first (libjpeg draft: 1/2..1/8 scale)
FULL_PREVIEW_RATIO = 0.9  # a preview this close to the sensor size counts as full size (crop margins)
_FLIP_TRANSPOSE = {
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.ROTATE_90,  # counter-clockwise
    6: Image.Transpose.ROTATE_270,  # clockwise
}


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_SUFFIXES


@dataclass
class RawPreview:
    """The camera's embedded preview, upright, and the size of the full decode (both (width, height))."""

    image: Image.Image  # RGB, upright
    full_size: tuple[int, int]

    @property
    def is_full_size(self) -> bool:
        return max(self.image.size) >= FULL_PREVIEW_RATIO * max(self.full_size)


def _rawpy():
    import rawpy  # imported on first use: the GUI thread never pays for it at start-up

    return rawpy


@contextlib.contextmanager
def _open(path: Path):
    """rawpy.imread with LibRaw's errors turned into one-line `ImageReadError`s."""
    rawpy = _rawpy()
    if not path.is_file():
        raise ImageReadError(f"{path.name}: file not found")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path.name}: empty file (0 bytes)")
    try:
        raw = rawpy.imread(str(path))
    except rawpy.LibRawFileUnsupportedError as error:
        raise ImageReadError(
            f"{path.name}: not a RAW file LibRaw {'.'.join(map(str, rawpy.libraw_version))} can read "
            "(an unsupported camera, or a damaged file)"
        ) from error
    except (rawpy.LibRawError, OSError, ValueError) as error:
        raise ImageReadError(f"{path.name}: damaged RAW file ({_reason(error)})") from error
    try:
        yield raw
    finally:
        raw.close()


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _full_size(raw) -> tuple[int, int]:
    sizes = raw.sizes
    width, height = int(sizes.width), int(sizes.height)
    return (height, width) if sizes.flip in (5, 6) else (width, height)


def _upright(image: Image.Image, flip: int) -> Image.Image:
    transpose = _FLIP_TRANSPOSE.get(int(flip))
    return image.transpose(transpose) if transpose is not None else image


def raw_preview(path: Path | str, draft: int | None = None) -> RawPreview:
    """The embedded preview, upright. `draft` (pixels) lets libjpeg decode a JPEG preview at 1/2..1/8
    scale when only a thumbnail of that long side is needed. A RAW without a usable preview gets LibRaw's
    half-size decode instead (slower, still correct)."""
    path = Path(path)
    rawpy = _rawpy()
    with _open(path) as raw:
        full = _full_size(raw)
        flip = raw.sizes.flip
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            thumb = None
        except rawpy.LibRawError as error:
            raise ImageReadError(f"{path.name}: damaged RAW preview ({_reason(error)})") from error
        if thumb is None:
            return RawPreview(_half_decode(raw, path), full)
    image = _thumb_image(thumb, path, draft, rawpy)
    return RawPreview(_upright(image, flip), full)


def _thumb_image(thumb, path: Path, draft: int | None, rawpy) -> Image.Image:
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            image = Image.open(io.BytesIO(thumb.data))
            if draft:
                image.draft("RGB", (draft, draft))
            image.load()
            return image.convert("RGB")
        return Image.fromarray(np.ascontiguousarray(thumb.data)).convert("RGB")
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(f"{path.name}: damaged RAW preview ({_reason(error)})") from error


def _half_decode(raw, path: Path) -> Image.Image:
    try:
        rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
    except _rawpy().LibRawError as error:
        raise ImageReadError(f"{path.name}: damaged RAW data ({_reason(error)})") from error
    return Image.fromarray(np.ascontiguousarray(rgb), "RGB")


def default_decode_cache() -> Path:
    return Path(platformdirs.user_cache_dir("ShootStudio", appauthor=False)) / "raw"


def _cache_file(path: Path, cache_dir: Path) -> Path | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = f"{DECODE_CACHE_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()
    return cache_dir / digest[:2] / f"{digest}.npy"


def _cached(path: Path, cache_dir: Path | None) -> tuple[Path | None, np.ndarray | None]:
    cache_dir = Path(cache_dir) if cache_dir is not None else default_decode_cache()
    cached = _cache_file(path, cache_dir)
    if cached is not None and cached.is_file():
        with contextlib.suppress(OSError, ValueError):
            # Mapped, not read: the 72 MB of a 24 MP image come in as the canvas's pyramid reads them,
            # without a second copy (3-5× faster on a loaded machine). Read-only, as the image is. A
            # cache entry replaced meanwhile is a new file (atomic rename), so the mapping stays valid.
            rgb = np.asarray(np.load(cached, mmap_mode="r", allow_pickle=False))
            if rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8:
                return cached, rgb
    return cached, None


def _keep(cached: Path | None, rgb: np.ndarray) -> None:
    if cached is not None:
        with contextlib.suppress(OSError):  # a read-only cache only costs speed
            atomic_save(cached, lambda handle: np.save(handle, rgb, allow_pickle=False))
            prune_oldest(cached.parent.parent.glob("*/*.npy"), DECODE_CACHE_CAP)


def _decode(path: Path) -> np.ndarray:
    rawpy = _rawpy()
    with _open(path) as raw:
        try:
            rgb = raw.postprocess(use_camera_wb=True, output_bps=8)
        except rawpy.LibRawError as error:
            raise ImageReadError(f"{path.name}: damaged RAW data ({_reason(error)})") from error
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def decode_raw(path: Path | str, cache_dir: Path | None = None) -> np.ndarray:
    """The full demosaiced image (camera white balance, sRGB, 8 bits, upright) as HxWx3 uint8, from the
    decode cache when it holds this version of the file."""
    path = Path(path)
    cached, rgb = _cached(path, cache_dir)
    if rgb is None:
        rgb = _decode(path)
        _keep(cached, rgb)
    return rgb


def read_raw_rgb(path: Path | str, cache_dir: Path | None = None) -> tuple[np.ndarray, str]:
    """The pixels the engine works on, and where they came from ("preview", "decode" or "cache"): the
    embedded preview when it is full size (Canon and Nikon embed one), else the full decode. One rule
    for the canvas, SAM, the filter and enhancement, so masks and embeddings all share one image size.
    Either is cached (an .npy mapped back, where even a full-size JPEG preview takes a few hundred ms
    to decode), so flipping back to an image is fast. The array is read-only."""
    path = Path(path)
    cached, rgb = _cached(path, cache_dir)
    if rgb is not None:
        return rgb, "cache"
    preview = raw_preview(path)
    if preview.is_full_size:
        rgb, source = np.ascontiguousarray(np.asarray(preview.image, dtype=np.uint8)), "preview"
    else:
        rgb, source = _decode(path), "decode"
    _keep(cached, rgb)
    return rgb, source


def screen_preview(
    path: Path | str, cache_dir: Path | None = None, side: int = SCREEN_SIDE
) -> np.ndarray | None:
    """What the canvas shows at once while the working image is made (Photo Mechanic's way): the
    embedded JPEG preview, draft-decoded to about `side` pixels, upright, HxWx3 uint8. None when there
    is nothing to gain: not a RAW, its working image cached already (it opens in tens of ms), or no
    JPEG preview inside. Errors are left to the full read, which reports them."""
    path = Path(path)
    if not is_raw(path):
        return None
    cached = _cache_file(path, Path(cache_dir) if cache_dir is not None else default_decode_cache())
    if cached is None or cached.is_file():
        return None
    rawpy = _rawpy()
    try:
        with _open(path) as raw:
            flip = raw.sizes.flip
            thumb = raw.extract_thumb()
        if thumb.format != rawpy.ThumbFormat.JPEG:
            return None
        image = _thumb_image(thumb, path, side, rawpy)
    except (ImageReadError, rawpy.LibRawError):
        return None
    return np.ascontiguousarray(np.asarray(_upright(image, flip), dtype=np.uint8))


def pair_raw_jpeg(paths: list[Path]) -> list[tuple[Path, list[Path]]]:
    """Group a folder listing into shots: a RAW and a JPEG of the same stem in the same folder are one
    shot, shown by its JPEG (the camera's own rendering, full size, fast), with the RAW as companion.
    Order follows `paths` (the first file of each shot)."""
    by_key: dict[tuple[Path, str], list[Path]] = {}
    order: list[tuple[Path, str]] = []
    for path in paths:
        key = (path.parent, path.stem.casefold())
        if key not in by_key:
            by_key[key] = []
            order.append(key)
        by_key[key].append(path)
    shots = []
    for key in order:
        group = by_key[key]
        raws = [p for p in group if is_raw(p)]
        jpegs = [p for p in group if p.suffix.lower() in JPEG_SUFFIXES]
        if raws and jpegs:
            primary = jpegs[0]
            shots.append((primary, [p for p in group if p is not primary and (is_raw(p) or p in jpegs)]))
            shots.extend((p, []) for p in group if not is_raw(p) and p not in jpegs)
        else:
            shots.extend((p, []) for p in group)
    return shots
