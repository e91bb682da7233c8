"""Text-to-image product visuals: SD 1.5 (the registry's txt2img pipeline) + LoRAs, saved as PNG with the
AUTOMATIC1111 `parameters` chunk.

The denoising loop is diffusers' own; this module only fills the prompt template, picks the scheduler,
seeds each image, reports progress per step, hands each written image to the job's watchers
(`ctx.emit`), and stops at the next step when the job is cancelled.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.diffusion.callbacks import StepCallback
from engine.diffusion.infotext import generation_parameters, model_path
from engine.diffusion.lora import apply_loras
from engine.diffusion.recipes import MAX_SEED, GenerateRequest
from engine.diffusion.samplers import scheduler_for
from engine.imaging.outputs import free_path, save_png
from engine.runtime.jobs import EngineError, JobContext


@dataclass(frozen=True)
class GeneratedImage:
    path: Path
    prompt: str
    seed: int
    product_class: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "image"


def generate_images(
    request: GenerateRequest,
    registry: Any,
    ctx: JobContext,
) -> list[GeneratedImage]:
    """Generate `count` images per class into `request.out_dir`; each is written as soon as it is done
    and emitted (`GeneratedImage`) to the job's watchers.

    A GPU out-of-memory error becomes a message that says what to change."""
    try:
        return _generate(request, registry, ctx)
    except torch.cuda.OutOfMemoryError as error:
        raise EngineError(
            f"Out of GPU memory generating at {request.width}×{request.height}: use a smaller size, "
            f"or close other programs using the GPU. ({str(error)[:120]})"
        ) from error


def _generate(request: GenerateRequest, registry: Any, ctx: JobContext) -> list[GeneratedImage]:
    from diffusers import StableDiffusionPipeline

    request.validate()
    prompts = request.prompts()
    total_images = len(prompts) * request.count
    total_steps = total_images * request.steps
    ctx.progress(0, total_steps, "loading the SD 1.5 model")
    base = registry.txt2img_pipeline()
    apply_loras(base, request.loras)  # on the cached pipeline, which tracks what it has loaded
    scheduler, sampler = scheduler_for(base, request.scheduler)
    # A pipeline sharing the cached modules, so a scheduler choice never leaks into the cache.
    pipe = StableDiffusionPipeline(
        **{**base.components, "scheduler": scheduler}, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)

    first_seed = request.seed if request.seed is not None else random.randint(0, MAX_SEED - total_images)
    checkpoint = model_path(registry, "txt2img")
    request.out_dir.mkdir(parents=True, exist_ok=True)
    done_steps = 0
    results: list[GeneratedImage] = []

    def count_step(step: int) -> None:
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
                callback_on_step_end=StepCallback(ctx, count_step),
            ).images[0]
            ctx.check_cancelled()  # a cancelled call still decodes: never save that image
            parameters = generation_parameters(
                prompt,
                request.negative_prompt,
                loras=request.loras,
                steps=request.steps,
                sampler=sampler,
                cfg_scale=request.guidance,
                seed=seed,
                size=(request.width, request.height),
                checkpoint=checkpoint,
            )
            path = free_path(request.out_dir, f"{_slug(product_class or prompt)}-{seed}")
            save_png(image, path, parameters)
            result = GeneratedImage(path, prompt, seed, product_class)
            results.append(result)
            ctx.emit(result)
    return results
