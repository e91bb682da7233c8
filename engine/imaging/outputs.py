"""Generated and enhanced images on disk: PNG with the AUTOMATIC1111 `parameters` text chunk, written
atomically, never over an existing file."""

from __future__ import annotations

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
) -> str:
    """The `parameters` text as the AUTOMATIC1111 web UI writes it (other tools read this convention)."""
    fields = {
        "Steps": steps,
        "Sampler": sampler,
        "CFG scale": f"{cfg_scale:g}",
        "Seed": seed,
        "Size": f"{size[0]}x{size[1]}",
        "Model": model,
        **(extra or {}),
    }
    rendered = ", ".join(f"{key}: {_quote(value)}" for key, value in fields.items())
    lines = [prompt]
    if negative_prompt:
        lines.append(f"Negative prompt: {negative_prompt}")
    lines.append(rendered)
    return "\n".join(lines)


def _quote(value: Any) -> str:
    text = str(value)
    return '"' + text.replace('"', '\\"') + '"' if any(c in text for c in ',:"\n') else text


_FIELD = re.compile(r'\s*([\w ]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


def parse_parameters(text: str) -> dict[str, str]:
    """Read a `parameters` text back: {"Prompt", "Negative prompt", "Steps", "Seed", ...}."""
    lines = text.strip().split("\n")
    last = lines.pop() if lines else ""
    result: dict[str, str] = {}
    for key, value in _FIELD.findall(last):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
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
