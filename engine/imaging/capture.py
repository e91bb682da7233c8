"""When a picture was taken: EXIF DateTimeOriginal, for sorting a shoot by capture time.

TIFF-based RAW files (CR2, NEF, ARW, DNG, ORF, RW2, PEF) open in Pillow as TIFF, whose IFD0 links the
EXIF IFD. For the others (CR3, RAF) LibRaw reads the capture time (`RawPy.other.timestamp`), and the
embedded JPEG preview's EXIF is the last resort. Without any, the file's modification time stands in
(what Lightroom shows for a file without EXIF).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from datetime import datetime
from pathlib import Path

from PIL import Image

EXIF_IFD, DATETIME_ORIGINAL, DATETIME = 0x8769, 0x9003, 0x0132


def _parse(value: object) -> str | None:
    """EXIF's "YYYY:MM:DD HH:MM:SS" → ISO 8601 "YYYY-MM-DDTHH:MM:SS" (sorts as text), or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    try:
        when = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    # LibRaw's extracted preview carries a made-up EXIF block dated 1970 when the RAW has no time.
    return when.isoformat() if when.year > 1970 else None


def _from_image(image: Image.Image) -> str | None:
    exif = image.getexif()
    return _parse(exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL)) or _parse(exif.get(DATETIME))


def capture_time(path: Path | str) -> str:
    """The capture time of `path` as ISO 8601 text (EXIF, else the file's modification time)."""
    path = Path(path)
    found = None
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as image:  # the header and EXIF only; no pixels decoded
            found = _from_image(image)
    if found is None:
        from engine.imaging import raw

        if raw.is_raw(path):
            found = _from_raw_preview(path)
    if found is not None:
        return found
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0).isoformat()
    except OSError:
        return ""


def _from_raw_preview(path: Path) -> str | None:
    with contextlib.suppress(Exception):
        import rawpy

        with rawpy.imread(str(path)) as raw:
            stamp = raw.other.timestamp
            if stamp is not None and stamp.year > 1970:
                return stamp.replace(microsecond=0).isoformat()
            thumb = raw.extract_thumb()
        if thumb.format == rawpy.ThumbFormat.JPEG:
            with Image.open(io.BytesIO(thumb.data)) as image:
                return _from_image(image)
    return None
