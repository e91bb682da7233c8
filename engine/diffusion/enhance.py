"""Enhancement: repaint the masked product with SD 1.5 inpainting + depth ControlNet (+ LoRA), leaving
the scene untouched.

`enhance(image_path, mask, recipe, registry, ctx)` crops the "only masked" region
(engine/diffusion/region.py), computes the depth hint from that same crop, runs the diffusers pipeline
once per variant (seed, seed+1, ...), scales the result back and blends it through the feathered mask
into the original's own pixels.
Nothing is written: `save_variant` writes a chosen variant, atomically, never over an original.
Run it inside an engine job: progress per step, cancellation between steps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.diffusion.callbacks import StepCallback
from engine.diffusion.fidelity import FidelityReport, fidelity_text, measure_fidelity, sam_box_predictor
from engine.diffusion.infotext import controlnet_unit, depth_module, generation_parameters, model_path
from engine.diffusion.lora import apply_loras
from engine.diffusion.recipes import EnhanceError, EnhanceRecipe
from engine.diffusion.region import (
    Region,
    blend_region,
    check_mask,
    feathered_alpha,
    fit_work_size,
    masked_region,
    resize_rgb8,
    whole_region,
)
from engine.diffusion.samplers import set_scheduler
from engine.imaging.native import NativeImage, encode_like_original, encode_png, read_native
from engine.imaging.outputs import free_path
from engine.project.matting import refine_edge
from engine.runtime.atomic import atomic_write_bytes
from engine.runtime.jobs import JobContext


@dataclass
class Variant:
    """One result: the region's blended pixels in the original's mode, and its parameters text."""

    seed: int
    patch: np.ndarray  # native pixels of `EnhanceResult.region`
    parameters: str
    preview: np.ndarray  # HxWx3 uint8 of the region, for the GUI's compare view
    fidelity: FidelityReport | None = None  # the product's figures, original against this variant


@dataclass
class EnhanceResult:
    image: NativeImage
    region: Region
    work_size: tuple[int, int]
    before: np.ndarray  # HxWx3 uint8 of the region before, for the GUI's compare view
    variants: list[Variant] = field(default_factory=list)
    class_name: str = ""
    depth: Image.Image | None = None  # the control image fed to the ControlNet (work size)
    saved: list[Path] = field(default_factory=list)  # files written (a job asked to save every variant)
    blend_alpha: np.ndarray | None = None  # HxW float of the region: how much of each variant shows

    def full_pixels(self, variant: Variant) -> np.ndarray:
        """The whole image in native form with `variant` blended in."""
        pixels = self.image.pixels.copy()
        pixels[self.region.slices] = variant.patch
        return pixels


def load_mask(path: Path | str) -> np.ndarray:
    """A mask image as HxW uint8, white = product (masks are stored upright, like the images). An RGBA
    mask whose alpha varies is read from its alpha (cut-out style); otherwise from its brightness."""
    from engine.imaging.read import ImageReadError, open_image

    with open_image(path) as image:
        try:
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                alpha = np.asarray(image.convert("RGBA").getchannel("A"))
                if alpha.min() < 255:
                    return alpha.copy()
            return np.asarray(image.convert("L")).copy()
        except (OSError, ValueError, SyntaxError) as error:  # the mask's own name, not only Pillow's words
            raise ImageReadError(f"mask {Path(path).name}: damaged or truncated image ({error})") from error


def enhance(
    image_path: Path | str,
    mask: np.ndarray,
    recipe: EnhanceRecipe,
    registry: Any,
    ctx: JobContext | None = None,
    class_name: str = "",
) -> EnhanceResult:
    """Run `recipe` on the masked product of `image_path`; `mask` is HxW (bool or 0..255), upright."""
    recipe.validate()
    image = read_native(image_path)
    check_models(registry, recipe)
    binary = check_mask(mask, image.size)
    if recipe.mode == "masked" and not recipe.keep_product:
        work = (recipe.work_size, recipe.work_size)
        region = masked_region(binary, work, recipe.padding)
    else:
        region = whole_region(image.size)
        work = fit_work_size(region, recipe.work_size)
    before = image.rgb8(region.box)
    product = binary[region.slices]
    alpha, blend_alpha = _alphas(recipe, before, product, registry, ctx)
    if not alpha.any():
        raise EnhanceError("The mask lies outside the work region.")
    source = Image.fromarray(resize_rgb8(before, work), "RGB")
    mask_image = Image.fromarray((alpha * 255).round().astype(np.uint8), "L").resize(
        work, Image.Resampling.BILINEAR
    )
    result = EnhanceResult(image, region, work, before, class_name=class_name, blend_alpha=blend_alpha)
    if recipe.control:
        _progress(ctx, 0, None, "depth map")
        # Computed from the very pixels the model sees, so the hint lines up with the crop exactly.
        result.depth = registry.depth()(source).resize(work, Image.Resampling.BICUBIC)
    first_seed = recipe.seed if recipe.seed is not None else random.randrange(2**32)
    runner = _PipelineRunner(registry, recipe, ctx)
    predictor = sam_box_predictor(registry) if recipe.fidelity_shape else None
    for index in range(recipe.variants):
        seed = (first_seed + index) % 2**32
        generated = runner.generate(source, mask_image, result.depth, seed, class_name, index)
        generated_rgb8 = resize_rgb8(np.asarray(generated.convert("RGB")), (region.width, region.height))
        patch = blend_region(image.pixels[region.slices], generated_rgb8, result.blend_alpha, image.mode)
        preview = blend_region(before, generated_rgb8, result.blend_alpha, "RGB")
        parameters = _parameters_text(recipe, registry, result, seed, class_name)
        done, total = runner.steps_per_variant * (index + 1), runner.steps_per_variant * recipe.variants
        _progress(ctx, done, total, f"variant {index + 1}/{recipe.variants}: checking the product")
        thresholds = recipe.fidelity_for(class_name)
        report = measure_fidelity(before, preview, product, thresholds, predictor, class_name)
        result.variants.append(Variant(seed, patch, parameters, preview, report))
    _check_cancelled(ctx)
    return result


def _alphas(recipe: EnhanceRecipe, before: np.ndarray, product: np.ndarray, registry: Any, ctx) -> tuple:
    """(what the model repaints, how much of its result shows), both HxW float 0..1 of the region.

    By default both are the feathered product mask; with soft edges the result shows through the matted
    alpha instead (hard outside the edge band). Keeping the product inverts both: the scene is repainted
    and the original product comes back through its own alpha."""
    alpha = feathered_alpha(product, recipe.mask_blur)
    blend_alpha = alpha
    if recipe.soft_edges:
        _progress(ctx, 0, None, "refining the product's edge")
        blend_alpha = refine_edge(before, product, registry.matting(), recipe.edge_band).alpha
    if recipe.keep_product:
        return 1.0 - alpha, 1.0 - blend_alpha
    return alpha, blend_alpha


def check_models(registry: Any, recipe: EnhanceRecipe) -> None:
    """Fail before any work when a needed model is missing (the error names the role and the fix).
    Models already resident in the registry need no files."""
    from engine.models.locate import resolve

    resident = set(registry.resident())
    pipeline_ready = any(isinstance(k, tuple) and k[:2] == ("inpaint", recipe.control) for k in resident)
    roles = [] if pipeline_ready else ["inpaint", *(["controlnet_depth"] if recipe.control else [])]
    if recipe.control and "depth" not in resident:
        roles.append("depth")
    if recipe.soft_edges and "matting" not in resident:
        roles.append("matting")
    if recipe.fidelity_shape and "sam" not in resident:
        roles.append("sam")
    for role in roles:
        resolve(registry.config.spec(role))


class _PipelineRunner:
    """Calls the pipeline with progress and cancellation; on a GPU out-of-memory, explains or retries."""

    def __init__(self, registry: Any, recipe: EnhanceRecipe, ctx: JobContext | None):
        from engine.models.diffusion import MemoryOptions

        self.registry, self.recipe, self.ctx = registry, recipe, ctx
        self.memory = MemoryOptions(recipe.cpu_offload, recipe.vae_tiling)
        self.steps_per_variant = max(1, int(recipe.steps * recipe.strength))

    def pipeline(self) -> Any:
        pipe = self.registry.inpaint_pipeline(control=self.recipe.control, memory=self.memory)
        set_scheduler(pipe, self.recipe.scheduler)
        apply_loras(pipe, list(self.recipe.loras))
        return pipe

    def generate(self, source, mask_image, depth, seed: int, class_name: str, index: int) -> Image.Image:
        import torch

        try:
            return self._call(self.pipeline(), source, mask_image, depth, seed, class_name, index)
        except torch.OutOfMemoryError as error:
            from engine.models.diffusion import MemoryOptions

            if not self.recipe.retry_with_offload or self.memory.cpu_offload:
                raise EnhanceError(
                    "The GPU ran out of memory. Turn on “save GPU memory” (CPU offload and VAE tiling), "
                    "lower the work size, or close other programs using the GPU."
                ) from error
            self.registry.release_pipelines()
            self.memory = MemoryOptions(cpu_offload=True, vae_tiling=True)
            _progress(self.ctx, 0, None, "out of GPU memory: retrying with CPU offload")
            return self._call(self.pipeline(), source, mask_image, depth, seed, class_name, index)

    def _call(self, pipe, source, mask_image, depth, seed: int, class_name: str, index: int) -> Image.Image:
        import torch

        recipe, ctx = self.recipe, self.ctx
        total = self.steps_per_variant * recipe.variants
        done_before = index * self.steps_per_variant

        def on_step(step: int) -> None:
            _progress(ctx, done_before + step + 1, total, f"variant {index + 1}/{recipe.variants}")

        _check_cancelled(ctx)
        arguments: dict[str, Any] = {
            "prompt": recipe.prompt_for(class_name),
            "negative_prompt": recipe.negative_prompt or None,
            "image": source,
            "mask_image": mask_image,
            "height": source.height,
            "width": source.width,
            "strength": recipe.strength,
            "num_inference_steps": recipe.steps,
            "guidance_scale": recipe.guidance,
            "generator": torch.Generator("cpu").manual_seed(seed),
            "callback_on_step_end": StepCallback(ctx, on_step),
        }
        if recipe.control:
            arguments["control_image"] = depth
            arguments["controlnet_conditioning_scale"] = recipe.control_scale
        with torch.inference_mode():
            image = pipe(**arguments).images[0]
        _check_cancelled(ctx)  # a cancelled call still returns a decoded image: drop it
        return image


def _parameters_text(recipe: EnhanceRecipe, registry: Any, result: EnhanceResult, seed: int, cls: str) -> str:
    region = result.region
    extra: dict[str, Any] = {
        "Denoising strength": f"{recipe.strength:g}",
        "Mask blur": f"{recipe.mask_blur:g}",
        "Inpaint area": "Only masked" if recipe.mode == "masked" else "Whole picture",
        "Masked area padding": recipe.padding,
        "Inpaint region": f"{region.width}x{region.height}+{region.left}+{region.top}",
    }
    if cls:
        extra["Class"] = cls
    controlnet = None
    if recipe.control:
        depth_spec = registry.config.spec("depth")
        kind = depth_spec.option("kind", "transformers")
        controlnet = controlnet_unit(
            depth_module(kind, Path(depth_spec.path).name),
            model_path(registry, "controlnet_depth"),
            recipe.control_scale,
            # The depth hint is computed at the work size (transformers) or the detector's resolution.
            int(depth_spec.option("resolution", 512)) if kind != "transformers" else max(result.work_size),
        )
    return generation_parameters(
        recipe.prompt_for(cls),
        recipe.negative_prompt,
        loras=recipe.loras,
        steps=recipe.steps,
        sampler=recipe.scheduler,
        cfg_scale=recipe.guidance,
        seed=seed,
        size=result.work_size,
        checkpoint=model_path(registry, "inpaint"),
        extra=extra,
        controlnet=controlnet,
    )


def output_path(result: EnhanceResult, variant: Variant, out: Path, suffix: str = ".png") -> Path:
    """`out/<stem>_enh_<seed><suffix>` (`-2`, `-3`... rather than overwrite); `out` may name the file."""
    if out.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"):
        target = out if not out.exists() else free_path(out.parent, out.stem, out.suffix)
    else:
        target = free_path(out, f"{result.image.path.stem}_enh_{variant.seed}", suffix)
    if target.resolve() == result.image.path.resolve():
        raise EnhanceError(f"Refusing to write over the original {result.image.path.name}.")
    return target


def save_variants(
    result: EnhanceResult,
    out: Path | str,
    keep_format: bool = False,
    variants: list[Variant] | None = None,
) -> list[Path]:
    """Write every variant (or those of `variants`), all or none, even if the process is killed meanwhile
    (engine/runtime/staged.py; the next save into the folder settles what a killed one left)."""
    from engine.runtime.staged import write_all_or_none

    items, taken = [], set()
    for variant in result.variants if variants is None else variants:
        data, suffix = _encode_variant(result, variant, keep_format)
        target = output_path(result, variant, Path(out), suffix)
        while target in taken:  # two variants of one seed name (an explicit .png --out has one)
            target = target.with_name(f"{target.stem}-{len(taken) + 1}{target.suffix}")
        taken.add(target)
        items.append((target, data))
    return write_all_or_none(items)


def _encode_variant(result: EnhanceResult, variant: Variant, keep_format: bool) -> tuple[bytes, str]:
    image = result.image
    pixels = result.full_pixels(variant)
    encoded = None
    if keep_format:
        encoded = encode_like_original(
            pixels, image.mode, image.format, variant.parameters, image.icc_profile
        )
    if encoded is None:  # the figures ride in a text chunk of their own, beside A1111's `parameters`
        text = fidelity_text(variant.fidelity)
        encoded = encode_png(pixels, image.mode, variant.parameters, image.icc_profile, text), ".png"
    return encoded


def save_variant(result: EnhanceResult, variant: Variant, out: Path | str, keep_format: bool = False) -> Path:
    """Write `variant` atomically with the original's ICC profile and the parameters text: a PNG with the
    `parameters` chunk (and the fidelity figures in their own), or with `keep_format` the original's
    format at maximum quality where it can hold the pixels faithfully (JPEG q100 4:4:4, lossless WebP,
    lossless TIFF)."""
    data, suffix = _encode_variant(result, variant, keep_format)
    return atomic_write_bytes(output_path(result, variant, Path(out), suffix), data)


def _progress(ctx: JobContext | None, done: float, total: float | None, message: str) -> None:
    if ctx is not None:
        ctx.progress(done, total, message)


def _check_cancelled(ctx: JobContext | None) -> None:
    if ctx is not None:
        ctx.check_cancelled()
