"""Generated and enhanced images on disk: PNG with the AUTOMATIC1111 `parameters` text chunk, written
atomically, never over an existing file."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from engine.runtime.atomic import atomic_save


def format_parameters(
    prompt: str,
    negative_prompt: str = "",
    *,
    steps: int,
    sampler: str,
    cfg_scale: float,
    seed: int,
    size: tuple[int, int],
    model: str,
    extra: dict[str, Any] | None = None,
    schedule_type: str | None = None,
    model_hash: str | None = None,
) -> str:
    """The `parameters` text as the AUTOMATIC1111 web UI (1.10) writes it (other tools read this
    convention): the prompt, `Negative prompt: ...`, then one line of `Key: value` fields."""
    fields: dict[str, Any] = {"Steps": steps, "Sampler": sampler}
    if schedule_type:
        fields["Schedule type"] = schedule_type
    fields |= {"CFG scale": f"{cfg_scale:g}", "Seed": seed, "Size": f"{size[0]}x{size[1]}"}
    if model_hash:
        fields["Model hash"] = model_hash
    fields |= {"Model": model, **(extra or {})}
    rendered = ", ".join(f"{key}: {_quote(value)}" for key, value in fields.items())
    lines = [prompt]
    if negative_prompt:
        lines.append(f"Negative prompt: {negative_prompt}")
    lines.append(rendered)
    return "\n".join(lines)


def _quote(value: Any) -> str:
    # A1111's `quote`: JSON string syntax for a value holding a comma, colon or newline.
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if any(c in text for c in ",:\n") else text


# A1111's `re_param` (modules/infotext_utils.py); quoted values are JSON strings.
_FIELD = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def parse_parameters(text: str) -> dict[str, str]:
    """Read a `parameters` text back: {"Prompt", "Negative prompt", "Steps", "Seed", ...}."""
    lines = text.strip().split("\n")
    last = lines.pop() if lines else ""
    result: dict[str, str] = {}
    for key, value in _FIELD.findall(last):
        if len(value) > 1 and value[0] == value[-1] == '"':
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        result[key.strip()] = value.strip()
    negative = [i for i, line in enumerate(lines) if line.startswith("Negative prompt: ")]
    if negative:
        i = negative[0]
        result["Negative prompt"] = "\n".join(lines[i:]).removeprefix("Negative prompt: ")
        lines = lines[:i]
    result["Prompt"] = "\n".join(lines)
    return result


def free_path(folder: Path, stem: str, suffix: str = ".png") -> Path:
    """`folder/stem.suffix`, or `stem-2`, `stem-3`... so that nothing is ever overwritten."""
    candidate = folder / f"{stem}{suffix}"
    counter = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


def save_png(image: Image.Image, path: Path, parameters: str = "", icc_profile: bytes | None = None) -> Path:
    """Write `image` as PNG with its `parameters` chunk, atomically."""
    info = PngImagePlugin.PngInfo()
    if parameters:
        info.add_text("parameters", parameters)
    options: dict[str, Any] = {"format": "PNG", "pnginfo": info}
    if icc_profile:
        options["icc_profile"] = icc_profile
    return atomic_save(path, lambda handle: image.save(handle, **options))


def exif_with_parameters(parameters: str) -> bytes:
    """An EXIF block holding `parameters` in UserComment, as A1111's `save_image_with_geninfo` writes
    it for JPEG and WebP (piexif, "UNICODE\\0" + UTF-16BE), for Pillow's `save(..., exif=...)`."""
    import piexif
    import piexif.helper

    comment = piexif.helper.UserComment.dump(parameters, encoding="unicode")
    return piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}})


def read_parameters(image: Image.Image) -> str | None:
    """The `parameters` text of an opened image: the PNG chunk, else EXIF UserComment (JPEG, WebP, and
    TIFF's Exif IFD), as A1111's `read_info_from_image` looks for it."""
    import piexif.helper

    if "parameters" in image.info:
        return str(image.info["parameters"])
    comment = image.getexif().get_ifd(0x8769).get(0x9286)  # Exif IFD → UserComment
    if not comment:
        return None
    try:
        return piexif.helper.UserComment.load(comment)
    except ValueError:
        return bytes(comment).decode("utf-8", errors="ignore")
