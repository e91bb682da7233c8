"""What an enhancement or a generation asks for: plain, validated settings, and the prompt template.

Torch-free, so the CLI's --help and the GUI's forms use them without loading a model; the engine's jobs
take them as their description (engine/api.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from engine.diffusion.lora import LoraSpec
from engine.diffusion.samplers import DEFAULT_SAMPLER, SCHEDULERS
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
        if self.padding < 0 or self.mask_blur < 0:
            problems.append("padding and mask blur cannot be negative")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            problems.append(f"seed must be between 0 and {MAX_SEED}")
        if self.scheduler not in SCHEDULERS:
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
        if self.scheduler not in SCHEDULER_CHOICES:
            raise GenerationError(
                f"scheduler {self.scheduler!r}: choose one of {', '.join(SCHEDULER_CHOICES)}."
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise GenerationError(f"seed {self.seed}: use 0 to {MAX_SEED}.")
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise GenerationError(f"Output {self.out_dir} is a file; give a folder.")
        self.prompts()
