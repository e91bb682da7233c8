"""LoRA training on the SD 1.5 UNet (and optionally its text encoder) with diffusers + peft.

The recipe is diffusers' `train_text_to_image_lora.py`: frozen base weights, peft LoRA adapters on the
attention projections, noise-prediction MSE, AdamW. Around it: kohya-style buckets and repeats, VAE latents
and (with a frozen text encoder) caption embeddings computed once, a checkpoint each epoch, exact resume,
samples, and progress with the loss. Every file is written atomically: never a partial LoRA.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.runtime.atomic import remove_dead_temps
from engine.runtime.jobs import JobCancelled, JobContext
from engine.training.checkpoint import load_resume_state, save_lora, save_resume_state
from engine.training.config import (
    CheckpointEvent,
    SampleEvent,
    StepEvent,
    TrainingConfig,
    TrainingError,
    TrainingResult,
    resolve_precision,
)
from engine.training.data import epoch_batches, load_pixels, scan_folder, steps_per_epoch
from engine.training.kohya import add_lora_adapters
from engine.training.samples import save_samples


@dataclass
class Components:
    """The SD 1.5 parts training needs (the bench builds real-size ones with random weights)."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    noise_scheduler: Any
    model_name: str = "sd15"


def load_components(registry: Any, dtype: torch.dtype = torch.float32) -> Components:
    """Fresh copies from the txt2img diffusers folder (training changes the UNet; the cache stays clean)."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from engine.models.errors import ModelError
    from engine.models.locate import resolve

    spec = registry.config.spec("txt2img")
    folder = resolve(spec, want_dir=True)
    if not folder.is_dir():
        raise ModelError(f"Model 'txt2img': training needs a diffusers folder, not the single file {folder}.")
    registry.release("txt2img")  # its copy of the same weights would double the memory
    kwargs = {"local_files_only": True}
    weights = {**kwargs, "dtype": dtype}
    try:
        return Components(
            UNet2DConditionModel.from_pretrained(folder, subfolder="unet", **weights),
            AutoencoderKL.from_pretrained(folder, subfolder="vae", **weights),
            CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", **weights),
            CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer", **kwargs),
            DDPMScheduler.from_pretrained(folder, subfolder="scheduler", **kwargs),
            model_name=Path(spec.path).name,
        )
    except (OSError, ValueError) as error:
        raise ModelError(f"Model 'txt2img': {folder} is not a loadable SD 1.5 folder: {error}") from error


class LoraTrainer:
    """One training run. `run()` trains, checkpoints and returns the result, or raises `JobCancelled`
    after saving a resume state."""

    def __init__(
        self,
        config: TrainingConfig,
        parts: Components,
        device: torch.device,
        ctx: JobContext,
    ):
        config.validate()
        self.config, self.parts, self.device, self.ctx = config, parts, device, ctx
        self.precision = resolve_precision(config.mixed_precision, device.type)
        self.weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision, torch.float32)
        unet, vae, text_encoder = parts.unet, parts.vae, parts.text_encoder
        for model in (unet, vae, text_encoder):
            model.requires_grad_(False)
        with torch.random.fork_rng(devices=[]):  # the seed fixes the LoRA's initial weights too
            torch.manual_seed(config.seed)
            add_lora_adapters(
                unet, text_encoder if config.train_text_encoder else None, config.rank, config.lora_alpha
            )
        for model in (unet, vae, text_encoder):
            model.to(device) if model.dtype == self.weight_dtype else model.to(device, self.weight_dtype)
        self.trainable = [m for m in (unet, text_encoder) if any(p.requires_grad for p in m.parameters())]
        for model in self.trainable:  # LoRA weights learn in fp32 under fp16/bf16 autocast
            for parameter in model.parameters():
                if parameter.requires_grad:
                    parameter.data = parameter.data.float()
        if config.gradient_checkpointing:
            unet.enable_gradient_checkpointing()
            if config.train_text_encoder:
                text_encoder.gradient_checkpointing_enable()
        vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
        self.bucket_step = max(8, vae_scale * 2 ** (len(unet.config.block_out_channels) - 1))
        self.data = scan_folder(config.folder, config.tag, config.resolution, self.bucket_step)
        self.steps_per_epoch = steps_per_epoch(self.data, config.repeats, config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.generator = torch.Generator("cpu").manual_seed(config.seed)
        self.step, self.losses = 0, []
        self.result = TrainingResult(config.out, 0, self.losses, warnings=list(self.data.warnings))

    # -- preparation --------------------------------------------------------------------------------
    def _optimizer(self) -> None:
        from diffusers.optimization import get_scheduler

        groups = [
            {
                "params": [p for p in self.parts.unet.parameters() if p.requires_grad],
                "lr": self.config.learning_rate,
            }
        ]
        if self.config.train_text_encoder:
            groups.append(
                {
                    "params": [p for p in self.parts.text_encoder.parameters() if p.requires_grad],
                    "lr": self.config.text_encoder_lr,
                }
            )
        self.optimizer = torch.optim.AdamW(groups, weight_decay=1e-2)
        self.lr_scheduler = get_scheduler(
            self.config.lr_scheduler,
            self.optimizer,
            num_warmup_steps=self.config.lr_warmup_steps,
            num_training_steps=self.total_steps,
        )
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None

    def _autocast(self):
        if self.precision == "no":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.weight_dtype)

    @torch.no_grad()
    def _encode_images(self) -> None:
        """VAE latent distributions once per image (sampled afresh each step, as encoding each step would)."""
        self.latent_mean, self.latent_std = [], []
        for index, image in enumerate(self.data.images):
            self.ctx.check_cancelled()
            pixels = load_pixels(image)[None].to(self.device, self.weight_dtype)
            with self._autocast():
                dist = self.parts.vae.encode(pixels).latent_dist
            self.latent_mean.append(dist.mean.float())
            self.latent_std.append(dist.std.float())
            self.ctx.progress(0, self.total_steps, f"preparing images {index + 1}/{len(self.data.images)}")

    def _token_ids(self, captions: list[str]) -> torch.Tensor:
        tokenizer = self.parts.tokenizer
        return tokenizer(
            captions,
            padding="max_length",
            max_length=tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(self.device)

    def _text_states(self, indices: list[int]) -> torch.Tensor:
        if self.config.train_text_encoder:
            return self.parts.text_encoder(self._token_ids([self.data.images[i].caption for i in indices]))[0]
        if not hasattr(self, "_text_cache"):  # a frozen text encoder: each caption's embedding once
            with torch.no_grad(), self._autocast():
                self._text_cache = [
                    self.parts.text_encoder(self._token_ids([im.caption]))[0] for im in self.data.images
                ]
        return torch.cat([self._text_cache[i] for i in indices])

    # -- one step ---------------------------------------------------------------------------------------
    def _loss(self, indices: list[int], generator: torch.Generator, timesteps: torch.Tensor | None = None):
        mean = torch.cat([self.latent_mean[i] for i in indices])
        std = torch.cat([self.latent_std[i] for i in indices])
        # CPU random numbers: the same run on any device, and a generator state a resume can restore.
        sample = torch.randn(mean.shape, generator=generator).to(self.device)
        latents = (mean + std * sample) * self.parts.vae.config.scaling_factor
        noise = torch.randn(latents.shape, generator=generator).to(self.device)
        scheduler = self.parts.noise_scheduler
        if timesteps is None:
            timesteps = torch.randint(
                0, scheduler.config.num_train_timesteps, (len(indices),), generator=generator
            )
        timesteps = timesteps.to(self.device)
        noisy = scheduler.add_noise(latents, noise, timesteps)
        if scheduler.config.prediction_type == "v_prediction":
            target = scheduler.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        with self._autocast():
            states = self._text_states(indices)
            prediction = self.parts.unet(noisy.to(self.weight_dtype), timesteps, states).sample
        return torch.nn.functional.mse_loss(prediction.float(), target.float())

    def _train_step(self, indices: list[int]) -> float:
        loss = self._loss(indices, self.generator)
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            self.optimizer.step()
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    @torch.no_grad()
    def fixed_noise_loss(self) -> float:
        """Mean loss over every image with the same noise and evenly spread timesteps each time it runs."""
        generator = torch.Generator("cpu").manual_seed(self.config.seed + 1)
        count = len(self.data.images)
        steps = self.parts.noise_scheduler.config.num_train_timesteps
        total = 0.0
        for i in range(count):
            timestep = torch.tensor([int((i + 0.5) * steps / count)])
            total += float(self._loss([i], generator, timestep))
        return total / count

    # -- the run --------------------------------------------------------------------------------------
    def run(self) -> TrainingResult:
        started = time.monotonic()
        config, result = self.config, self.result
        self._optimizer()
        self._encode_images()
        for folder in {config.checkpoint_dir, config.out.parent}:  # a killed earlier run's half-written files
            if folder.is_dir():
                remove_dead_temps(folder)
        if config.resume is not None:
            load_resume_state(self, config.resume)
        if config.measure_fixed_loss:
            result.fixed_loss_before = self.fixed_noise_loss()
        for model in self.trainable:
            model.train()
        first_epoch = self.step // self.steps_per_epoch
        try:
            for epoch in range(first_epoch, config.epochs):
                batches = epoch_batches(self.data, config.repeats, config.batch_size, config.seed, epoch)
                for indices in batches[self.step - epoch * self.steps_per_epoch :]:
                    self.ctx.check_cancelled()
                    loss = self._train_step(indices)
                    if not math.isfinite(loss):
                        raise TrainingError(
                            f"The loss became {loss} at step {self.step + 1}: lower the "
                            "learning rate (or use bf16 instead of fp16)."
                        )
                    self.step += 1
                    self.losses.append(loss)
                    recent = self.losses[-20:]
                    self.ctx.progress(
                        self.step,
                        self.total_steps,
                        f"epoch {epoch + 1}/{config.epochs}, loss {sum(recent) / len(recent):.4f}",
                    )
                    self.ctx.emit(StepEvent(self.step, self.total_steps, epoch + 1, loss))
                self._end_of_epoch(epoch + 1)
        except JobCancelled:
            save_resume_state(self)  # cancel keeps the epoch checkpoints and where it stopped
            raise
        except torch.cuda.OutOfMemoryError as error:
            raise TrainingError(
                f"Out of GPU memory at batch size {config.batch_size}, resolution {config.resolution}: "
                "try --batch-size 1, --gradient-checkpointing, --mixed-precision fp16, a lower --resolution. "
                f"Epoch checkpoints so far are kept in {config.checkpoint_dir}."
            ) from error
        if config.measure_fixed_loss:
            result.fixed_loss_after = self.fixed_noise_loss()
        save_lora(self, config.out, config.epochs)
        result.steps, result.seconds = self.step, time.monotonic() - started
        return result

    def _end_of_epoch(self, epoch: int) -> None:
        config = self.config
        if epoch % config.save_every_epochs == 0 or epoch == config.epochs:
            path = save_lora(
                self, config.checkpoint_dir / f"{config.out.stem}-{epoch:06d}.safetensors", epoch
            )
            save_resume_state(self)
            self.result.checkpoints.append(path)
            self.ctx.emit(CheckpointEvent(epoch, path))
        sample = config.sample
        if sample.every_epochs and (epoch % sample.every_epochs == 0 or epoch == config.epochs):
            for model in self.trainable:
                model.eval()
            folder = config.out.parent / f"{config.out.stem}-samples"
            paths = save_samples(
                self.parts, sample, config, epoch, folder, self.device, self._autocast, self.ctx
            )
            for model in self.trainable:
                model.train()
            self.result.samples += paths
            self.ctx.emit(SampleEvent(epoch, paths))


def train_lora(config: TrainingConfig, registry: Any, ctx: JobContext) -> TrainingResult:
    """Train the LoRA `config` describes; steps, checkpoints and samples are emitted as events
    (`StepEvent`, `CheckpointEvent`, `SampleEvent`) to the job's watchers."""
    config.validate()  # before loading a model
    ctx.progress(0, None, "loading SD 1.5")
    device = registry.choice.device
    precision = resolve_precision(config.mixed_precision, device.type)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)
    return LoraTrainer(config, load_components(registry, dtype), device, ctx).run()
