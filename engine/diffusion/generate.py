"""Text-to-image product visuals: SD 1.5 (the registry's txt2img pipeline) + LoRAs, saved as PNG with the
AUTOMATIC1111 `parameters` chunk.

The denoising loop is diffusers' own; this module only fills the prompt template, picks the scheduler,
seeds each image, reports progress per step, and stops at the next step when the job is cancelled.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engine.diffusion.lora import LoraSpec, apply_loras
from engine.diffusion.samplers import SCHEDULERS
from engine.imaging.outputs import format_parameters, free_path, save_png
from engine.runtime.jobs import EngineError, Job, JobCancelled, JobContext, Priority

# The original product workflow's template (the activation tag first, then the class).
DEFAULT_TEMPLATE = "ppzocketv2, {class}, stylish, studio photography, product photography, ultra realistic"
DEFAULT_NEGATIVE = "lowres, blurry, deformed, watermark, text, logo"

# Sampler names as AUTOMATIC1111 writes them (shared with enhancement), or the model's own.
SCHEDULER_CHOICES = ("default", *SCHEDULERS)
MAX_SEED = 2**32 - 1


class GenerationError(EngineError):
    """Bad generation settings (exit code 2: bad input)."""

    exit_code = 2


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
    scheduler: str = "default"
    seed: int | None = None  # None: a random seed, written into each PNG
    count: int = 1
    loras: list[LoraSpec] = field(default_factory=list)
    out_dir: Path = Path("generated")

    def prompts(self) -> list[tuple[str, str]]:
        """(class, prompt) pairs. A template without `{class}` gives one prompt."""
        if "{class}" not in self.template:
            return [("", self.template.strip())]
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


@dataclass(frozen=True)
class GeneratedImage:
    path: Path
    prompt: str
    seed: int
    product_class: str


def render_prompt(template: str, product_class: str, tag: str | None = None) -> str:
    """Fill `{class}` (and `{tag}` when given); other braces stay as typed."""
    text = template.replace("{class}", product_class)
    if tag is not None:
        text = text.replace("{tag}", tag)
    return re.sub(r"\s+", " ", text).strip()


def make_scheduler(pipe: Any, name: str) -> tuple[Any, str]:
    """A fresh scheduler for `pipe` (from its own config) and the sampler name for the PNG."""
    import diffusers

    if name == "default":
        return pipe.scheduler, type(pipe.scheduler).__name__.removesuffix("Scheduler")
    class_name, extra = SCHEDULERS[name]
    scheduler = getattr(diffusers, class_name).from_config(pipe.scheduler.config, **extra)
    return scheduler, name


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "image"


def _interrupt_on_cancel(ctx: JobContext, on_step: Callable[[], None]) -> Callable:
    """diffusers' `callback_on_step_end`: count a step; on cancel, skip the remaining steps."""

    def callback(pipe: Any, step: int, timestep: Any, kwargs: dict) -> dict:
        on_step()
        if ctx.cancelled:
            pipe._interrupt = True  # diffusers' own flag: the loop `continue`s to the end
        return kwargs

    return callback


def generate_images(
    request: GenerateRequest,
    registry: Any,
    ctx: JobContext,
    on_image: Callable[[GeneratedImage], None] | None = None,
) -> list[GeneratedImage]:
    """Generate `count` images per class into `request.out_dir`; each is written as soon as it is done."""
    from diffusers import StableDiffusionPipeline

    request.validate()
    prompts = request.prompts()
    total_images = len(prompts) * request.count
    total_steps = total_images * request.steps
    ctx.progress(0, total_steps, "loading the SD 1.5 model")
    base = registry.txt2img_pipeline()
    apply_loras(base, request.loras)  # on the cached pipeline, which tracks what it has loaded
    scheduler, sampler = make_scheduler(base, request.scheduler)
    # A pipeline sharing the cached modules, so a scheduler choice never leaks into the cache.
    pipe = StableDiffusionPipeline(
        **{**base.components, "scheduler": scheduler}, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)

    first_seed = request.seed if request.seed is not None else random.randint(0, MAX_SEED - total_images)
    model_name = Path(registry.config.spec("txt2img").path).name
    lora_text = ", ".join(str(spec) for spec in request.loras)
    request.out_dir.mkdir(parents=True, exist_ok=True)
    done_steps = 0
    results: list[GeneratedImage] = []

    def count_step() -> None:
        nonlocal done_steps
        done_steps += 1
        ctx.progress(done_steps, total_steps, f"image {len(results) + 1}/{total_images}")

    index = 0
    for product_class, prompt in prompts:
        for _ in range(request.count):
            ctx.check_cancelled()
            seed = (first_seed + index) % (MAX_SEED + 1)  # AUTOMATIC1111's convention: batch seeds count up
            index += 1
            # A CPU generator gives the same image for a seed on any device.
            generator = torch.Generator("cpu").manual_seed(seed)
            image = pipe(
                prompt=prompt,
                negative_prompt=request.negative_prompt or None,
                width=request.width,
                height=request.height,
                num_inference_steps=request.steps,
                guidance_scale=request.guidance,
                generator=generator,
                callback_on_step_end=_interrupt_on_cancel(ctx, count_step),
            ).images[0]
            ctx.check_cancelled()  # a cancelled call still decodes: never save that image
            parameters = format_parameters(
                prompt,
                request.negative_prompt,
                steps=request.steps,
                sampler=sampler,
                cfg_scale=request.guidance,
                seed=seed,
                size=(request.width, request.height),
                model=model_name,
                extra={"Lora": lora_text} if lora_text else None,
            )
            path = free_path(request.out_dir, f"{_slug(product_class or prompt)}-{seed}")
            save_png(image, path, parameters)
            result = GeneratedImage(path, prompt, seed, product_class)
            results.append(result)
            if on_image is not None:
                on_image(result)
    return results


def generate_job(
    request: GenerateRequest,
    registry: Any,
    on_image: Callable[[GeneratedImage], None] | None = None,
) -> Job:
    """The engine job for `generate_images`; its value is the list of `GeneratedImage`."""

    def run(ctx: JobContext) -> list[GeneratedImage]:
        try:
            return generate_images(request, registry, ctx, on_image)
        except JobCancelled:
            raise
        except torch.cuda.OutOfMemoryError as error:
            raise EngineError(
                f"Out of GPU memory generating at {request.width}×{request.height}: use a smaller size, "
                f"or close other programs using the GPU. ({str(error)[:120]})"
            ) from error

    return Job(run, name="generate", priority=Priority.NORMAL)
