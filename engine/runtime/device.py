"""Pick the compute device and dtype: CUDA (fp16), then Apple MPS, then CPU (fp32)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from engine.runtime.errors import UsageError
from engine.runtime.jobs import EngineError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    dtype: torch.dtype

    def __str__(self) -> str:
        return f"{self.device.type} ({str(self.dtype).removeprefix('torch.')})"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def choose_device(preference: str = "auto") -> DeviceChoice:
    """`auto` prefers CUDA, then MPS, then CPU; an explicit choice that is not available is an error."""
    preference = (preference or "auto").lower()
    if preference not in DEVICE_CHOICES:
        raise EngineError(f"Unknown device {preference!r}; choose one of {', '.join(DEVICE_CHOICES)}.")
    if preference == "auto":
        if torch.cuda.is_available():
            preference = "cuda"
        elif _mps_available():
            preference = "mps"
        else:
            preference = "cpu"
    if preference == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            "--device cuda was asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto."
        )
    if preference == "mps" and not _mps_available():
        raise EngineError("--device mps was asked for, but Apple's Metal backend is not available.")
    # fp16 halves memory on GPUs; CPUs have no fast fp16 path, so they stay in fp32.
    dtype = torch.float16 if preference in ("cuda", "mps") else torch.float32
    return DeviceChoice(torch.device(preference), dtype)


# -- precision of the analysis models (SAM, CLIP) ---------------------------------------------------
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_bf16_flags(cpuinfo: str | None = None) -> set[str]:
    """The native-bf16 features of this CPU (AMX, AVX-512-BF16): from torch's own probe, else from
    /proc/cpuinfo's flags (or the given text of it)."""
    if cpuinfo is None:
        capabilities = getattr(torch.cpu, "get_capabilities", None)
        if capabilities is not None:
            try:
                found = capabilities()
                return {flag for flag in _CPU_BF16_FLAGS if found.get(flag)}
            except (RuntimeError, AttributeError):
                pass
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return set()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags") and ":" in line:
            flags.update(line.split(":", 1)[1].split())
    return {flag for flag in _CPU_BF16_FLAGS if flag in flags}


def torch_cpu() -> torch.device:
    return torch.device("cpu")


def precision_name(dtype: torch.dtype) -> str:
    return {value: key for key, value in _DTYPES.items()}[dtype]


def choose_precision(
    preference: str, device: torch.device, bf16_flags: set[str] | None = None
) -> torch.dtype:
    """The dtype SAM and CLIP compute in (under autocast; weights and stored results stay float32).

    `auto`: fp16 on a GPU, bf16 on a CPU with native bf16 (AMX or AVX-512-BF16, detected at run time),
    fp32 on other CPUs, where bf16 is emulated and slower. A forced `bf16` runs anywhere (slowly without
    the hardware); a forced `fp16` needs a GPU."""
    preference = (preference or "auto").lower()
    if preference not in PRECISION_CHOICES:
        raise EngineError(f"Unknown precision {preference!r}; choose one of {', '.join(PRECISION_CHOICES)}.")
    if preference == "auto":
        if device.type in ("cuda", "mps"):
            return torch.float16
        flags = cpu_bf16_flags() if bf16_flags is None else bf16_flags
        return torch.bfloat16 if flags else torch.float32
    if preference == "fp16" and device.type == "cpu":
        raise EngineError("--precision fp16 needs a GPU; on a CPU use bf16 or fp32.")
    return _DTYPES[preference]


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """At most `count` intra-op threads inside the block (the previous setting after it).

    For latency-bound work of many small ops (a SAM click): each op's hand-off to a second thread costs
    more than it saves, and on a busy machine a descheduled helper thread stalls every op (measured on
    2 cores at load 5: a 1024x768 click took 323 ms with 2 threads, 100 ms with 1)."""
    before = torch.get_num_threads()
    if count >= before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def batch_workers(device: torch.device) -> int:
    """Batches of small-op models run side by side (`engine.runtime.pool.map_batches`): 2 on a CPU with 2
    or more threads (each batch with half of them), 1 on a GPU. Measured on 2 cores: SAM's proposal
    decoder (vit_b, 1,024 prompts) took 6.7-7.7 s as two batches of 8 at one thread each where one batch
    of 16 at two threads took 8.1-9.1 s; CLIP ViT-B-32 in bf16 27.4-28.7 ms a crop against 29.7-32.4 ms.
    Their ops are small enough that every hand-off to a second thread shows."""
    return 2 if device.type == "cpu" and torch.get_num_threads() >= 2 else 1
