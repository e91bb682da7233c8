"""What an enhancement or a generation asks for: plain, validated settings, and the prompt template.

Torch-free, so the CLI's --help and the GUI's forms use them without loading a model; the engine's jobs
take them as their description (engine/api.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from engine.diffusion.lora import LoraSpec
from engine.diffusion.samplers import ALIASES, DEFAULT_SAMPLER, SCHEDULERS
from engine.runtime.jobs import EngineError

# The original product workflow's template: the activation tag first, then the class.
DEFAULT_TEMPLATE = "ppzocketv2, {class}, stylish, studio photography, product photography, ultra realistic"
ENHANCE_NEGATIVE = "blurry, deformed, low quality, watermark, text"
GENERATE_NEGATIVE = "lowres, blurry, deformed, watermark, text, logo"
MODES = ("masked", "whole")
MAX_SEED = 2**32 - 1


def render_prompt(template: str, product_class: str = "", tag: str | None = None) -> str:
    """Fill `{class}` (an empty class reads "product") and, when given, `{tag}`; tidy the commas and
    spaces. Other braces stay as typed."""
    text = template.replace("{class}", product_class or "product")
    if tag is not None:
        text = text.replace("{tag}", tag)
    parts = (" ".join(part.split()) for part in text.split(","))
    return ", ".join(part for part in parts if part)


@dataclass(frozen=True)
class FidelityThresholds:
    """Where pass ends and warn ends for each product-fidelity figure (engine/diffusion/fidelity.py).

    Colour in CIEDE2000 (ΔE00 about 1 is the smallest difference a trained eye sees side by side, 2-3
    the usual colour tolerance of a product shot against its sample, above 5 a different shade);
    SSIM and edge F1 from 0 (unrelated) to 1 (identical); shape IoU of the product silhouette."""

    delta_e_mean: tuple[float, float] = (2.0, 4.0)  # ≤ pass, ≤ warn, else fail
    delta_e_p95: tuple[float, float] = (6.0, 12.0)  # the worst 5 % of the product's pixels
    ssim: tuple[float, float] = (0.85, 0.70)  # ≥ pass, ≥ warn, else fail
    edge_f1: tuple[float, float] = (0.80, 0.60)  # logos, labels, stitching: Canny edges within 2 px
    shape_iou: tuple[float, float] = (0.95, 0.90)  # silhouette before vs after (SAM box prompt)


# Per product class (the filter's class names): products whose value is in small print or exact colour
# get tighter limits. Unknown classes use DEFAULT_FIDELITY.
DEFAULT_FIDELITY = FidelityThresholds()
CLASS_FIDELITY: tuple[tuple[str, FidelityThresholds], ...] = (
    # Dial print, indices and hands are the product: edges and structure tight.
    ("watch or watch dial", FidelityThresholds(ssim=(0.90, 0.80), edge_f1=(0.85, 0.70))),
    # Leather colour is what buyers return a bag for; stitching and logo embossing are fine detail.
    ("hand bag", FidelityThresholds(delta_e_mean=(1.5, 3.0), delta_e_p95=(5.0, 10.0))),
    ("shoe", FidelityThresholds(edge_f1=(0.70, 0.50))),  # laces and mesh move a little, harmlessly
    # Paint colour must match the brochure; the body shape must not move.
    ("car", FidelityThresholds(delta_e_mean=(1.5, 3.0), shape_iou=(0.97, 0.93))),
)


class EnhanceError(EngineError):
    """A run that cannot go on; the message says what to change."""


class EnhanceSettingsError(EnhanceError):
    """Settings that cannot work (bad input: exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class EnhanceRecipe:
    """Every setting of one enhancement; the same recipe applies to every image of a batch."""

    prompt: str = DEFAULT_TEMPLATE  # `{class}` is replaced by the filter's class name
    negative_prompt: str = ENHANCE_NEGATIVE
    control: bool = True  # depth ControlNet on/off
    control_scale: float = 1.0
    loras: tuple[LoraSpec, ...] = ()
    strength: float = 0.75  # denoising strength
    steps: int = 30
    guidance: float = 7.5
    scheduler: str = "Euler a"
    seed: int | None = None  # None: a random seed, recorded in the result
    variants: int = 1
    mask_blur: float = 4.0  # px of feathering, in original pixels
    padding: int = 32  # px around the mask's bounding box
    work_size: int = 512  # the model's resolution (SD 1.5: 512)
    mode: str = "masked"  # "masked" (crop to the mask) or "whole" (the whole image, resized)
    cpu_offload: bool = False
    vae_tiling: bool = False
    retry_with_offload: bool = False  # on GPU out-of-memory, reload with offload + tiling and retry once
    # Product fidelity (engine/diffusion/fidelity.py): thresholds per class, the silhouette check (a SAM
    # box prompt on before and after, two embeddings per variant) and soft edges (blend through the
    # matting role's alpha in a band of `edge_band` px around the mask's edge instead of the feather).
    fidelity: tuple[tuple[str, FidelityThresholds], ...] = CLASS_FIDELITY
    fidelity_default: FidelityThresholds = DEFAULT_FIDELITY
    fidelity_shape: bool = False
    soft_edges: bool = False
    edge_band: int = 12
    # "Keep the product, change the scene": repaint everything but the product (whole picture), then
    # paste the original product back through its alpha (the matted one with soft_edges).
    keep_product: bool = False

    def fidelity_for(self, class_name: str = "") -> FidelityThresholds:
        """The thresholds of `class_name` (case and spacing ignored), else the default ones."""
        key = " ".join(class_name.lower().split())
        return next((t for name, t in self.fidelity if name == key), self.fidelity_default)

    def prompt_for(self, class_name: str = "") -> str:
        return render_prompt(self.prompt, class_name)

    def validate(self) -> None:
        problems = []
        if self.mode not in MODES:
            problems.append(f"mode must be one of {', '.join(MODES)}")
        if not 0.0 < self.strength <= 1.0:
            problems.append("strength must be in (0, 1]")
        if self.steps < 1 or self.variants < 1:
            problems.append("steps and variants must be at least 1")
        elif 0.0 < self.strength <= 1.0 and int(self.steps * self.strength) < 1:  # steps × strength are run
            problems.append(
                f"{self.steps} steps at strength {self.strength:g} leave no denoising step: "
                f"use at least {math.ceil(1 / self.strength)} steps"
            )
        if not 0.0 <= self.control_scale <= 2.0:
            problems.append("control scale must be between 0 and 2")
        if not 0.0 <= self.guidance <= 50.0:
            problems.append("guidance must be between 0 and 50")
        if self.work_size < 64 or self.work_size % 8:
            problems.append("work size must be a multiple of 8, at least 64")
        if self.edge_band < 1:
            problems.append("the edge band must be at least 1 px")
        if self.padding < 0 or self.mask_blur < 0:
            problems.append("padding and mask blur cannot be negative")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            problems.append(f"seed must be between 0 and {MAX_SEED}")
        if self.scheduler not in SCHEDULERS and self.scheduler not in ALIASES:
            problems.append(f"scheduler must be one of {', '.join(SCHEDULERS)}")
        if problems:
            raise EnhanceSettingsError("Bad enhancement settings: " + "; ".join(problems) + ".")


class GenerationError(EngineError):
    """Bad generation settings (exit code 2: bad input)."""

    exit_code = 2


# Sampler names as AUTOMATIC1111 writes them (shared with enhancement), or the model's own.
SCHEDULER_CHOICES = (DEFAULT_SAMPLER, *SCHEDULERS)


@dataclass
class GenerateRequest:
    """Everything one Generate click or `generate` command asks for. `count` images per class."""

    template: str = DEFAULT_TEMPLATE
    classes: list[str] = field(default_factory=list)
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    steps: int = 30
    guidance: float = 7.5
    scheduler: str = DEFAULT_SAMPLER
    seed: int | None = None  # None: a random seed, written into each PNG
    count: int = 1
    loras: list[LoraSpec] = field(default_factory=list)
    out_dir: Path = Path("generated")

    def prompts(self) -> list[tuple[str, str]]:
        """(class, prompt) pairs. A template without `{class}` gives one prompt."""
        if "{class}" not in self.template:
            return [("", render_prompt(self.template))]
        classes = [c.strip() for c in self.classes if c.strip()]
        if not classes:
            raise GenerationError("The prompt template has {class}: name at least one product class.")
        return [(c, render_prompt(self.template, c)) for c in classes]

    def validate(self) -> None:
        if not self.template.strip():
            raise GenerationError("The prompt is empty.")
        for name, value in (("width", self.width), ("height", self.height)):
            if value % 8 or not 64 <= value <= 2048:
                raise GenerationError(f"{name} {value}: use a multiple of 8 between 64 and 2048.")
        if not 1 <= self.steps <= 500:
            raise GenerationError(f"steps {self.steps}: use 1 to 500.")
        if not 0 <= self.guidance <= 50:
            raise GenerationError(f"guidance {self.guidance}: use 0 to 50.")
        if not 1 <= self.count <= 1000:
            raise GenerationError(f"count {self.count}: use 1 to 1000.")
        if self.scheduler not in SCHEDULER_CHOICES and self.scheduler not in ALIASES:
            raise GenerationError(
                f"scheduler {self.scheduler!r}: choose one of {', '.join(SCHEDULER_CHOICES)}."
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise GenerationError(f"seed {self.seed}: use 0 to {MAX_SEED}.")
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise GenerationError(f"Output {self.out_dir} is a file; give a folder.")
        self.prompts()
