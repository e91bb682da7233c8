"""Sample images during LoRA training: the product template rendered by the model being trained."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.diffusion.callbacks import StepCallback
from engine.diffusion.recipes import render_prompt
from engine.imaging.outputs import format_parameters, free_path, save_png
from engine.runtime.jobs import JobContext

if TYPE_CHECKING:
    import torch

SAMPLE_TEMPLATE = "{tag}, {class}, stylish, studio photography, product photography, ultra realistic"


@dataclass
class SampleSettings:
    every_epochs: int = 0  # 0: no samples
    template: str = SAMPLE_TEMPLATE  # `{tag}` is the activation tag, `{class}` the product class
    product_class: str = "product"
    negative_prompt: str = ""
    count: int = 1
    steps: int = 20
    guidance: float = 7.0


def save_samples(
    parts: Any,
    settings: SampleSettings,
    config: Any,
    epoch: int,
    folder: Path,
    device: torch.device,
    autocast: Callable[[], Any],
    ctx: JobContext,
) -> list[Path]:
    """Generate `settings.count` images with the UNet (and text encoder) as trained so far; the same seeds
    every epoch, so the samples show what training changed."""
    import torch
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=parts.vae,
        text_encoder=parts.text_encoder,
        tokenizer=parts.tokenizer,
        unet=parts.unet,
        scheduler=DPMSolverMultistepScheduler.from_config(parts.noise_scheduler.config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    prompt = render_prompt(settings.template, settings.product_class, config.tag)

    paths = []
    for index in range(settings.count):
        ctx.check_cancelled()
        seed = config.seed + index
        with torch.no_grad(), autocast():
            image = pipe(
                prompt,
                negative_prompt=settings.negative_prompt or None,
                width=config.resolution,
                height=config.resolution,
                num_inference_steps=settings.steps,
                guidance_scale=settings.guidance,
                generator=torch.Generator("cpu").manual_seed(seed),
                callback_on_step_end=StepCallback(ctx),
            ).images[0]
        ctx.check_cancelled()
        parameters = format_parameters(
            prompt,
            settings.negative_prompt,
            steps=settings.steps,
            sampler="DPM++ 2M",
            cfg_scale=settings.guidance,
            seed=seed,
            size=(config.resolution, config.resolution),
            model=parts.model_name,
            extra={"Lora": f"{config.out.stem} (epoch {epoch})"},
        )
        paths.append(save_png(image, free_path(folder, f"e{epoch:04d}-{index:02d}"), parameters))
    return paths
