"""Export presets: what a destination wants (size, format, colour, background, margins, naming) and what
the preflight checks before anything is written. A few are built in; more come from a TOML file:

```toml
[preset."shop square"]
format = "JPEG"          # PNG | WEBP | JPEG
quality = 92
long_edge = 1600         # px; 0 keeps the size
background = "#ffffff"   # "#RRGGBB" composites the cut-out; "transparent"; "keep" = the shot as it is
trim = true              # crop to the product...
padding = 80             # ...with this many px around it (in the output)
square = true            # centre on a square canvas
srgb = true              # convert from the original's ICC profile to sRGB and embed sRGB
naming = "{stem}_shop"   # {stem}, {class}, {index}
cutouts = true           # what to write: cutouts, masks, coco, labelme
masks = false
[preset."shop square".preflight]
fill = [0.6, 0.9]        # the product's box covers 60–90 % of the frame (area)
min_margin = 40          # px between the product and each edge of the output
background_delta_e = 3   # CIEDE2000 of the output's background against `background`
min_size = 800           # px: the product's long side in the original, so nothing is upscaled
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.export.files import ExportError

FORMATS = {"PNG": ".png", "WEBP": ".webp", "JPEG": ".jpg"}


@dataclass(frozen=True)
class Preflight:
    fill: tuple[float, float] | None = None  # min, max fraction of the frame's area
    min_margin: int | None = None
    background_delta_e: float | None = None
    min_size: int | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


@dataclass(frozen=True)
class ExportPreset:
    name: str = "custom"
    format: str = "PNG"
    quality: int = 95
    long_edge: int = 0
    background: str = "transparent"  # "transparent" | "keep" | "#RRGGBB"
    trim: bool = False
    padding: int = 0
    square: bool = False
    srgb: bool = True
    naming: str = "{stem}_cutout"
    masks: bool = True
    cutouts: bool = True
    coco: bool = False
    labelme: bool = False
    # Cut-out alpha from the `matting` role in a band of this many px at the mask's edge (0: the mask as
    # it is). Hair-thin straps, glass and soft shadows keep their edge instead of the mask's hard one.
    soft_edges: int = 0
    preflight: Preflight = field(default_factory=Preflight)

    @property
    def suffix(self) -> str:
        return FORMATS[self.format]

    def background_rgb(self) -> tuple[int, int, int] | None:
        """The composite colour, or None for "transparent" / "keep"."""
        if self.background in ("transparent", "keep"):
            return None
        text = self.background.lstrip("#")
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)

    def validate(self) -> ExportPreset:
        problems = []
        if self.format not in FORMATS:
            problems.append(f"format must be one of {', '.join(FORMATS)}")
        if self.format == "JPEG" and self.background == "transparent":
            problems.append("a JPEG cannot be transparent: give a background colour or use PNG/WEBP")
        if self.background not in ("transparent", "keep"):
            text = self.background.lstrip("#")
            if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
                problems.append(f"background {self.background!r}: use #RRGGBB, transparent or keep")
        if not 1 <= self.quality <= 100:
            problems.append("quality must be 1 to 100")
        if self.long_edge < 0 or self.padding < 0:
            problems.append("long_edge and padding cannot be negative")
        if not 0 <= self.soft_edges <= 256:
            problems.append("soft_edges is a band width of 0 (off) to 256 px")
        if self.long_edge and 2 * self.padding >= self.long_edge:
            problems.append("padding leaves no room for the product at this long_edge")
        fill = self.preflight.fill
        if fill is not None and not 0 <= fill[0] <= fill[1] <= 1:
            problems.append("preflight fill must be [min, max] between 0 and 1")
        if problems:
            raise ExportError(f"Preset {self.name!r}: " + "; ".join(problems) + ".")
        return self


BUILTIN: dict[str, ExportPreset] = {
    preset.name: preset
    for preset in (
        ExportPreset(
            name="marketplace white 2000px JPEG",
            format="JPEG",
            quality=92,
            long_edge=2000,
            background="#ffffff",
            trim=True,
            padding=100,
            square=True,
            naming="{stem}_white",
            masks=False,
            preflight=Preflight(fill=(0.5, 0.95), min_margin=50, background_delta_e=2.0, min_size=1000),
        ),
        ExportPreset(name="transparent PNG cut-out", trim=True, padding=20, masks=False),
        ExportPreset(name="masks for labelling", cutouts=False, masks=True, coco=True, labelme=True),
    )
}


def _from_table(name: str, table: dict[str, Any]) -> ExportPreset:
    known = {f.name for f in fields(ExportPreset)} - {"name", "preflight"}
    unknown = set(table) - known - {"preflight"}
    if unknown:
        raise ExportError(f"Preset {name!r}: unknown setting(s) {', '.join(sorted(unknown))}.")
    checks = dict(table.get("preflight", {}))
    bad = set(checks) - {f.name for f in fields(Preflight)}
    if bad:
        raise ExportError(f"Preset {name!r}: unknown preflight check(s) {', '.join(sorted(bad))}.")
    if "fill" in checks:
        checks["fill"] = tuple(float(v) for v in checks["fill"])
    values = {key: table[key] for key in known if key in table}
    if "format" in values:
        values["format"] = str(values["format"]).upper().replace("JPG", "JPEG")
    return ExportPreset(name=name, preflight=Preflight(**checks), **values).validate()


def load_preset_file(path: Path | str) -> dict[str, ExportPreset]:
    """The presets of a TOML file (`[preset.NAME]` tables)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ExportError(f"Cannot read presets from {path}: {error}") from error
    tables = data.get("preset", {})
    if not tables:
        raise ExportError(f"{path} has no [preset.NAME] table.")
    return {name: _from_table(name, dict(table)) for name, table in tables.items()}


def resolve_preset(text: str | None) -> ExportPreset:
    """A built-in preset by name, or a TOML file (its only preset, or `FILE.toml:NAME`)."""
    if not text:
        return ExportPreset()
    if text in BUILTIN:
        return BUILTIN[text]
    file, _, name = text.rpartition(":") if text.count(":") and not Path(text).exists() else (text, "", "")
    if Path(file).suffix == ".toml":
        presets = load_preset_file(file)
        if name:
            if name not in presets:
                raise ExportError(f"{file} has no preset {name!r}; it has {', '.join(presets)}.")
            return presets[name]
        if len(presets) > 1:
            raise ExportError(f"{file} has several presets: name one as {file}:NAME ({', '.join(presets)}).")
        return next(iter(presets.values()))
    raise ExportError(
        f"Unknown preset {text!r}: use one of {', '.join(repr(n) for n in BUILTIN)} or a .toml file."
    )


def with_contents(preset: ExportPreset, **contents: bool | None) -> ExportPreset:
    """`preset` with what to write overridden where a value is given (command-line switches)."""
    return replace(preset, **{key: value for key, value in contents.items() if value is not None})
