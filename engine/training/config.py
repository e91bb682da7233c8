"""LoRA training settings, progress events and the result (no model code: the GUI's dialog uses these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.runtime.jobs import EngineError
from engine.training.samples import SampleSettings

if TYPE_CHECKING:  # training_data needs torch; the CLI parser must not
    from engine.training.data import TrainingSet

LR_SCHEDULERS = ("constant", "constant_with_warmup", "cosine", "linear")
PRECISIONS = ("auto", "no", "fp16", "bf16")


class TrainingError(EngineError):
    exit_code = 2


@dataclass
class TrainingConfig:
    folder: Path
    tag: str
    out: Path
    rank: int = 16
    alpha: float | None = None  # None: alpha = rank (scale 1)
    learning_rate: float = 1e-4
    text_encoder_lr: float = 5e-5
    train_text_encoder: bool = False
    repeats: int = 6
    epochs: int = 10
    batch_size: int = 2
    resolution: int = 512
    mixed_precision: str = "auto"  # auto: fp16 on CUDA, none on the CPU
    gradient_checkpointing: bool = False
    lr_scheduler: str = "constant"
    lr_warmup_steps: int = 0
    seed: int = 42
    save_every_epochs: int = 1
    sample: SampleSettings = field(default_factory=SampleSettings)
    resume: Path | None = None
    overwrite: bool = False
    measure_fixed_loss: bool = False  # loss on fixed noise before and after (a noise-free progress figure)

    @property
    def lora_alpha(self) -> float:
        return float(self.alpha if self.alpha is not None else self.rank)

    @property
    def checkpoint_dir(self) -> Path:
        return self.out.parent / f"{self.out.stem}-checkpoints"

    @property
    def resume_file(self) -> Path:
        return self.checkpoint_dir / f"{self.out.stem}.resume.pt"

    def validate(self) -> None:
        checks = [
            (self.out.suffix == ".safetensors", f"--out {self.out.name}: the LoRA is saved as .safetensors"),
            (
                self.overwrite or self.resume is not None or not self.out.exists(),
                f"{self.out} exists: choose another --out, or --overwrite",
            ),
            (
                self.tag.strip() != "" and "," not in self.tag,
                "the activation tag is one token, e.g. ppzocketv2",
            ),
            (1 <= self.rank <= 1024, f"rank {self.rank}: use 1 to 1024"),
            (self.alpha is None or self.alpha > 0, f"alpha {self.alpha}: use a positive number"),
            (self.lr_warmup_steps >= 0, f"lr warmup steps {self.lr_warmup_steps}: use 0 or more"),
            (
                self.sample.count >= 0 and self.sample.steps >= 1,
                f"sample count {self.sample.count} / sample steps {self.sample.steps}: "
                "use 0 or more images of at least 1 step",
            ),
            (0 < self.learning_rate < 1 and 0 < self.text_encoder_lr < 1, "learning rates: use 0 to 1"),
            (
                self.repeats >= 1 and self.epochs >= 1 and self.batch_size >= 1,
                "repeats, epochs and batch size must be at least 1",
            ),
            (
                self.resolution % 8 == 0 and 64 <= self.resolution <= 2048,
                f"resolution {self.resolution}: use a multiple of 8 from 64 to 2048",
            ),
            (self.mixed_precision in PRECISIONS, f"mixed precision: one of {', '.join(PRECISIONS)}"),
            (self.lr_scheduler in LR_SCHEDULERS, f"lr scheduler: one of {', '.join(LR_SCHEDULERS)}"),
            (self.save_every_epochs >= 1, "save every N epochs: N ≥ 1"),
            (self.resume is None or self.resume.is_file(), f"resume checkpoint {self.resume} not found"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise TrainingError("; ".join(problems))

    def compatibility(self, training_set: TrainingSet) -> dict[str, Any]:
        """What a resumed run must share with the run that wrote the checkpoint."""
        keys = ("rank", "train_text_encoder", "repeats", "batch_size", "resolution", "seed")
        return {
            **{k: getattr(self, k) for k in keys},
            "alpha": self.lora_alpha,
            "images": training_set.fingerprint(),
        }


@dataclass(frozen=True)
class StepEvent:
    step: int
    total: int
    epoch: int
    loss: float


@dataclass(frozen=True)
class CheckpointEvent:
    epoch: int
    path: Path


@dataclass(frozen=True)
class SampleEvent:
    epoch: int
    paths: list[Path]


@dataclass
class TrainingResult:
    lora: Path
    steps: int
    losses: list[float]
    checkpoints: list[Path] = field(default_factory=list)
    samples: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fixed_loss_before: float | None = None
    fixed_loss_after: float | None = None
    seconds: float = 0.0


def resolve_precision(choice: str, device_type: str) -> str:
    """auto → fp16 on CUDA; the CPU always trains in fp32 (it has no fast fp16 path)."""
    if device_type != "cuda":
        return "no"
    return "fp16" if choice == "auto" else choice
