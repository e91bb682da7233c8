"""Job descriptions: plain data (paths, settings dataclasses, arrays) that say what a job is to do, so the
same job can later run in another process or on another machine unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.diffusion.batch import BatchItem
from engine.diffusion.recipes import EnhanceRecipe
from engine.export.presets import ExportPreset
from engine.filter.classes import ClassSet
from engine.segment.prompts import Prompt

if TYPE_CHECKING:
    from engine.filter.run import FilterSettings


@dataclass(frozen=True)
class FilterRequest:
    """Run the product filter over `paths` of a shoot folder (None: every image in it)."""

    folder: Path
    paths: list[Path] | None = None
    classes: ClassSet | None = None  # None: the default classes
    settings: FilterSettings | None = None  # None: the filter's defaults (engine/filter/run.py)
    recursive: bool = False
    proposals_mode: str | None = None  # exact|coarse|grounded over `settings`' (None: keep theirs)


@dataclass(frozen=True)
class SamImage:
    """The image SAM works on: its shoot folder (the embedding cache), content hash, and pixels."""

    folder: Path
    image_id: str
    rgb: np.ndarray  # HxWx3 uint8, upright, full size


@dataclass(frozen=True)
class SamPrompt:
    """A prompt on `image`, combined with `base` (HxW uint8, the mask when the session began)."""

    image: SamImage
    base: np.ndarray
    prompt: Prompt
    generation: int = 0  # the prompt session's, carried back in the result


@dataclass(frozen=True)
class EnhanceRequest:
    """Enhance the masked product of one image; with `save_to`, write every variant (all or none)."""

    image: Path
    mask: np.ndarray  # HxW bool or uint8, upright, the image's size
    recipe: EnhanceRecipe
    class_name: str = ""
    save_to: Path | None = None  # a folder, or a file name for one variant
    keep_format: bool = False  # write JPEG/WebP/TIFF originals in their own format


@dataclass(frozen=True)
class BatchRequest:
    """One recipe over many images: the `product` images of `class_name` in the store of `folder`, or
    the given `items`."""

    recipe: EnhanceRecipe
    out_dir: Path
    folder: Path | None = None
    class_name: str | None = None
    items: list[BatchItem] = field(default_factory=list)
    keep_best: bool = False  # write only the best-fidelity variant of each image


@dataclass(frozen=True)
class CaptionRequest:
    folder: Path
    tag: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class ExportRequest:
    """Export the images of `folder` that `select` names (or exactly `paths`) into `out_dir`: masks at
    the original size, cut-outs, COCO / LabelMe JSON and a manifest, as `preset` (a built-in name, a
    TOML file, or the preset itself) says; the switches override what the preset writes.
    `preflight_only`: check, write nothing."""

    folder: Path
    out_dir: Path
    select: str = "picked"
    paths: list[Path] | None = None
    preset: str | ExportPreset | None = None
    masks: bool | None = None
    cutouts: bool | None = None
    coco: bool | None = None
    labelme: bool | None = None
    preflight_only: bool = False


@dataclass(frozen=True)
class RefineEdgeRequest:
    """Soft edges for a product mask: the `matting` role's alpha in a band of `band` px at its edge."""

    rgb: np.ndarray  # HxWx3 uint8, upright, full size
    mask: np.ndarray  # HxW bool or uint8, the same size
    band: int = 12
    image_id: str = ""  # carried back so the GUI can drop a result for an image it has left


@dataclass(frozen=True)
class SelectRequest:
    """ "Select: hand bag" on the image under review: the `detector` role's best box for `text` (a class
    name of the shoot, whose prompts are used, or free text), masked by SAM and added to `base`."""

    image: SamImage
    base: np.ndarray  # HxW uint8, the mask when the request was made
    text: str
    threshold: float = 0.1  # the detector score a box needs


@dataclass(frozen=True)
class SelectResult:
    """What a select job returns; `mask` is None when nothing scored above the threshold."""

    image_id: str
    text: str
    mask: np.ndarray | None  # HxW uint8: the base with the product added
    score: float = 0.0  # SAM's predicted IoU of the mask
    detector_score: float = 0.0
