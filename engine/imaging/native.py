"""An original's pixels exactly as stored (upright), so an enhanced copy can keep every untouched pixel.

`engine.imaging.read_image` gives the 8-bit RGB the models see; this module keeps the original's own
mode beside it: 8-bit gray/RGB/RGBA, 16-bit gray, and 16-bit RGB(A) PNG (which Pillow reduces to 8 bits,
so OpenCV reads and writes those). Blending happens in that native form, and `encode_png` writes it back
with the `parameters` text chunk and the original's ICC profile.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

from engine.imaging.outputs import exif_with_parameters
from engine.imaging.read import ImageReadError, open_image, to_rgb8

# Modes kept as they are; anything else (CMYK, palette, 32-bit, float) becomes 8-bit RGB(A).
NATIVE_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "RGB;16", "RGBA;16")


@dataclass
class NativeImage:
    """`pixels`: upright, HxW (gray) or HxWxC, uint8 or uint16 as `mode` says (see NATIVE_MODES)."""

    path: Path
    pixels: np.ndarray
    mode: str
    icc_profile: bytes | None = None
    format: str = "PNG"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) upright."""
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def is_16bit(self) -> bool:
        return self.pixels.dtype == np.uint16

    def rgb8(self, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """HxWx3 uint8 of the whole image or `box` (left, top, right, bottom): what the model sees.
        Alpha is composited on white, as `engine.imaging.to_rgb8` does."""
        left, top, right, bottom = box or (0, 0, *self.size)
        return native_to_rgb8(self.pixels[top:bottom, left:right], self.mode)


def native_to_rgb8(pixels: np.ndarray, mode: str) -> np.ndarray:
    values = pixels.astype(np.float32) / 257.0 if pixels.dtype == np.uint16 else pixels.astype(np.float32)
    if values.ndim == 2:
        values = values[..., None]
    color = values[..., :3] if values.shape[2] >= 3 else np.repeat(values[..., :1], 3, axis=2)
    if mode in ("LA", "RGBA", "RGBA;16"):
        alpha = values[..., -1:] / 255.0
        color = color * alpha + 255.0 * (1.0 - alpha)
    return np.clip(color + 0.5, 0, 255).astype(np.uint8)


def rgb8_to_native(rgb: np.ndarray, like: np.ndarray, mode: str) -> np.ndarray:
    """Generated HxWx3 uint8 pixels in the layout of `like` (the original's region); alpha is kept."""
    if mode in ("L", "LA", "I;16"):
        gray = np.asarray(Image.fromarray(rgb, "RGB").convert("L"))  # ITU-R 601 luma, as Pillow does
        color = gray[..., None].astype(np.float64)
    else:
        color = rgb.astype(np.float64)
    if like.dtype == np.uint16:
        color = color * 257.0
    if mode in ("LA", "RGBA", "RGBA;16"):
        color = np.concatenate([color, like[..., -1:].astype(np.float64)], axis=2)
    if like.ndim == 2:
        color = color[..., 0]
    return color


def read_native(path: Path | str) -> NativeImage:
    """Decode `path` upright in its own mode (clear `ImageReadError`s as `engine.imaging.read` gives)."""
    path = Path(path)
    image = open_image(path)
    try:
        fmt, icc = image.format or "PNG", image.info.get("icc_profile")
        if fmt == "PNG" and _png_is_16bit_color(path):
            pixels = _read_png16_color(path)
            return NativeImage(path, pixels, "RGBA;16" if pixels.shape[2] == 4 else "RGB;16", icc, fmt)
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        pixels, mode = _pil_native(upright)
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(f"{path.name}: damaged or truncated image ({error})") from error
    finally:
        image.close()
    if mode == "RGB" and image.mode not in ("RGB", "L", "LA", "RGBA", "P", "1"):
        icc = None  # converted (CMYK, float...): the pixels are sRGB now
    return NativeImage(path, pixels, mode, icc, fmt)


def _pil_native(image: Image.Image) -> tuple[np.ndarray, str]:
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.ascontiguousarray(np.asarray(image)), mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image).astype(np.uint16), "I;16"
    if mode == "I":
        values = np.asarray(image)
        if values.min() >= 0 and values.max() <= 65535:  # 16-bit PNGs open as "I" in some Pillows
            return values.astype(np.uint16), "I;16"
    if mode == "1":
        return np.asarray(image.convert("L")), "L"
    if mode in ("P", "PA") and ("transparency" in image.info or mode == "PA"):
        return np.asarray(image.convert("RGBA")), "RGBA"
    return np.asarray(to_rgb8(image)), "RGB"


def _png_is_16bit_color(path: Path) -> bool:
    # IHDR: 8-byte signature, length, "IHDR", width, height, bit depth, colour type (2 RGB, 6 RGBA).
    with open(path, "rb") as handle:
        head = handle.read(26)
    return len(head) == 26 and head[12:16] == b"IHDR" and head[24] == 16 and head[25] in (2, 6)


def _read_png16_color(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint16:
        raise ImageReadError(f"{path.name}: damaged 16-bit PNG")
    code = cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return np.ascontiguousarray(cv2.cvtColor(pixels, code))


def encode_png(
    pixels: np.ndarray,
    mode: str,
    parameters: str = "",
    icc_profile: bytes | None = None,
    text: dict[str, str] | None = None,
) -> bytes:
    """PNG bytes of native `pixels` with the `parameters` text chunk, ICC profile and any further
    `text` chunks (keyword → value, e.g. `shootstudio:fidelity`)."""
    if mode in ("RGB;16", "RGBA;16"):
        return _encode_png16_color(pixels, parameters, icc_profile, text)
    import io

    image = Image.fromarray(pixels)  # the dtype and channels give the mode (L, LA, RGB, RGBA, I;16)
    info = PngImagePlugin.PngInfo()
    if parameters:
        info.add_text("parameters", parameters)
    for key, value in (text or {}).items():
        info.add_itxt(key, value)  # UTF-8 (ΔE), unlike tEXt's Latin-1
    buffer = io.BytesIO()
    options = {"icc_profile": icc_profile} if icc_profile else {}
    image.save(buffer, format="PNG", pnginfo=info, **options)
    return buffer.getvalue()


def _encode_png16_color(
    pixels: np.ndarray, parameters: str, icc_profile: bytes | None, text: dict[str, str] | None = None
) -> bytes:
    # Pillow cannot write 48/64-bit PNGs; OpenCV can but knows no text or ICC chunks, so they are
    # inserted after IHDR (the PNG spec's place for iCCP; tEXt may go anywhere before IEND).
    import cv2

    code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, code))
    if not ok:
        raise OSError("OpenCV could not encode the 16-bit PNG")
    data = encoded.tobytes()
    extra = b""
    if icc_profile:
        extra += _chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc_profile))
    if parameters:
        try:
            extra += _chunk(b"tEXt", b"parameters\x00" + parameters.encode("latin-1"))
        except UnicodeEncodeError:  # iTXt: keyword, no compression, empty language and translated keyword
            extra += _chunk(b"iTXt", b"parameters\x00\x00\x00\x00\x00" + parameters.encode("utf-8"))
    for key, value in (text or {}).items():
        extra += _chunk(b"iTXt", key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + value.encode("utf-8"))
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + extra + data[ihdr_end:]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# Formats an enhanced copy may keep, at their best quality, and where each keeps the parameters text.
ORIGINAL_FORMATS = {"JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif"}


def encode_like_original(
    pixels: np.ndarray, mode: str, fmt: str, parameters: str = "", icc_profile: bytes | None = None
) -> tuple[bytes, str] | None:
    """(bytes, suffix) in the original's format at maximum quality, or None when that format cannot
    hold these pixels faithfully (16-bit, or alpha in a JPEG): the caller then writes a PNG."""
    import io

    if fmt not in ORIGINAL_FORMATS or pixels.dtype != np.uint8 or (fmt == "JPEG" and mode in ("LA", "RGBA")):
        return None
    image = Image.fromarray(pixels)
    options: dict = {"icc_profile": icc_profile} if icc_profile else {}
    if parameters:
        # Where A1111 reads it: EXIF UserComment (TIFF: the same Exif IFD, plus ImageDescription).
        options["exif"] = exif_with_parameters(parameters)
    if fmt == "JPEG":
        # Quality 100 without chroma subsampling; the text also in a JPEG comment (COM segment).
        options |= {"quality": 100, "subsampling": 0, "comment": parameters.encode("utf-8")}
    elif fmt == "WEBP":
        options |= {"lossless": True, "quality": 100}
    else:
        # Uncompressed when there is text: libtiff (LZW) cannot write the Exif IFD Pillow hands it.
        options |= {"compression": "raw" if parameters else "tiff_lzw", "description": parameters}
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue(), ORIGINAL_FORMATS[fmt]
