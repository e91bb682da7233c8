"""Product classes: a name, the CLIP prompts that describe it, and its calibrated thresholds.

The defaults live in resources/product_classes.toml; users pass their own with `--classes "hand bag,shoe"`
(names; known names keep their prompts and thresholds, new names get prompts from the templates) or a
TOML file of the same shape.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from engine.runtime.errors import InputError

DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "resources" / "product_classes.toml"
SHOOT_CLASSES_FILE = "classes.toml"  # a shoot's own classes, in its project store


class ClassesError(InputError):
    """A classes list or file the filter cannot use (exit code 2: bad input)."""

    exit_code = 2


@dataclass(frozen=True)
class ProductClass:
    name: str
    prompts: tuple[str, ...]
    threshold: float = 0.4  # on P(class), a softmax over classes + "other" prompts
    margin: float = 0.1  # on P(class) - P(best "other" prompt)


@dataclass(frozen=True)
class ClassSet:
    """The classes of a run, the "other" prompts they compete with, and the band of doubt."""

    classes: tuple[ProductClass, ...]
    other: tuple[str, ...]
    uncertain_band: float = 0.05
    templates: tuple[str, ...] = ("a photo of a {}.",)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def prompts_key(self) -> str:
        """Changes when anything that changes CLIP scores changes (not thresholds)."""
        text = repr(([(c.name, c.prompts) for c in self.classes], self.other))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]

    def get(self, name: str) -> ProductClass:
        for product_class in self.classes:
            if product_class.name == name:
                return product_class
        raise KeyError(name)

    def with_threshold(self, name: str, threshold: float | None = None, margin: float | None = None):
        """A copy with one class's thresholds moved (the GUI's sliders)."""
        classes = tuple(
            replace(
                c,
                threshold=c.threshold if threshold is None else threshold,
                margin=c.margin if margin is None else margin,
            )
            if c.name == name
            else c
            for c in self.classes
        )
        return replace(self, classes=classes)

    def select(self, names: list[str]) -> ClassSet:
        """Only `names`, in that order; unknown names get template prompts and default thresholds."""
        known = {c.name.casefold(): c for c in self.classes}
        chosen = []
        for name in names:
            name = " ".join(name.split())
            if not name:
                continue
            chosen.append(
                known.get(name.casefold())
                or ProductClass(name, tuple(t.format(name) for t in self.templates))
            )
        if not chosen:
            raise ClassesError('no product classes given (e.g. --classes "hand bag,shoe")')
        if len({c.name.casefold() for c in chosen}) != len(chosen):
            raise ClassesError(f"a class is named twice in {', '.join(c.name for c in chosen)}")
        return replace(self, classes=tuple(chosen))


def _number(value: object, what: str, source: str, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClassesError(f"{source}: {what} must be a number, not {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ClassesError(f"{source}: {what} = {value!r} must be between {low:g} and {high:g}")
    return float(value)


def _strings(value: object, what: str, source: str) -> tuple[str, ...]:
    """A list of non-empty strings (a lone string would otherwise become one prompt per character)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ClassesError(f'{source}: {what} must be a list of texts, e.g. {what} = ["a photo of a bag."]')
    return tuple(value)


def parse_classes(data: dict, source: str = "classes", base: ClassSet | None = None) -> ClassSet:
    """A ClassSet from the TOML structure of resources/product_classes.toml."""
    templates = base.templates if base else ("a photo of a {}.",)
    if "templates" in data:
        templates = _strings(data["templates"], "templates", source)
        if not all("{}" in t for t in templates):
            raise ClassesError(
                f'{source}: every template needs {{}} for the class name, e.g. "a photo of a {{}}."'
            )
    other = _strings(data["other"], "other", source) if "other" in data else (base.other if base else ())
    if not other:
        raise ClassesError(f"{source}: needs `other` prompts (what is not a product)")
    band = data.get("uncertain_band", base.uncertain_band if base else 0.05)
    band = _number(band, "uncertain_band", source, 0.0, 0.5)
    entries = data.get("class", [])
    if not isinstance(entries, list):
        raise ClassesError(f"{source}: classes are [[class]] tables, each with a name")
    classes = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise ClassesError(f'{source}: every [[class]] needs a name = "text"')
        name = " ".join(entry["name"].split())
        prompts = (
            _strings(entry["prompts"], f"{name}: prompts", source)
            if "prompts" in entry
            else tuple(t.format(name) for t in templates)
        )
        classes.append(
            ProductClass(
                name,
                prompts,
                _number(entry.get("threshold", 0.4), f"{name}: threshold", source),
                _number(entry.get("margin", 0.1), f"{name}: margin", source, -1.0, 1.0),
            )
        )
    result = ClassSet(tuple(classes), other, band, templates)
    return result.select([c.name for c in classes])


def load_classes_file(path: Path | str, base: ClassSet | None = None) -> ClassSet:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ClassesError(f"classes file {path} not found") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ClassesError(f"classes file {path} is not valid TOML: {error}") from error
    return parse_classes(data, str(path), base)


def default_classes() -> ClassSet:
    return load_classes_file(DEFAULTS_FILE)


def classes_from_argument(value: str | None) -> ClassSet:
    """`--classes`: None → the defaults; an existing .toml file → that file; else comma-separated names."""
    defaults = default_classes()
    if not value:
        return defaults
    if value.endswith(".toml") or Path(value).is_file():
        return load_classes_file(value, defaults)
    return defaults.select(value.split(","))


def load_shoot_classes(store_root: Path) -> ClassSet:
    """The shoot's own classes (the project store's `classes.toml`) if the user edited them, else the
    defaults; a damaged file also falls back to the defaults."""
    path = Path(store_root) / SHOOT_CLASSES_FILE
    defaults = default_classes()
    if not path.is_file():
        return defaults
    try:
        return load_classes_file(path, defaults)
    except ClassesError:
        return defaults


def save_shoot_classes(store_root: Path, class_set: ClassSet) -> Path:
    """Write the shoot's classes in the `--classes FILE` format, atomically."""
    import tomli_w

    from engine.runtime.atomic import atomic_write_bytes

    data = {
        "uncertain_band": class_set.uncertain_band,
        "templates": list(class_set.templates),
        "other": list(class_set.other),
        "class": [
            {"name": c.name, "prompts": list(c.prompts), "threshold": c.threshold, "margin": c.margin}
            for c in class_set.classes
        ],
    }
    return atomic_write_bytes(Path(store_root) / SHOOT_CLASSES_FILE, tomli_w.dumps(data).encode("utf-8"))
