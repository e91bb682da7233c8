"""Loads models lazily by role, keeps them resident, and releases the least recently used ones when
a new model would exceed the memory budget."""

from __future__ import annotations

import gc
import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch

from engine.models.config import ModelsConfig
from engine.models.errors import ModelError, UnsafeCheckpoint, cli_name
from engine.runtime.allocator import keep_freed_memory
from engine.runtime.device import DeviceChoice, choose_device
from engine.runtime.errors import EngineError, is_disk_full, one_line


def model_bytes(obj: Any) -> int:
    """Bytes held by the parameters and buffers of every torch module inside `obj`."""
    modules: list[torch.nn.Module] = []
    if isinstance(obj, torch.nn.Module):
        modules.append(obj)
    for value in getattr(obj, "components", {}).values():  # diffusers pipelines
        if isinstance(value, torch.nn.Module):
            modules.append(value)
    for name in ("model", "unet", "controlnet", "bf16_visual"):  # (bf16_visual: CLIP's bf16 copy)
        value = getattr(obj, name, None)
        if isinstance(value, torch.nn.Module):
            modules.append(value)
    seen: set[int] = set()
    total = 0
    for module in modules:
        for tensor in [*module.parameters(), *module.buffers()]:
            if id(tensor) not in seen:
                seen.add(id(tensor))
                total += tensor.numel() * tensor.element_size()
    return total


def default_budget(choice: DeviceChoice) -> int:
    """Most of the device's memory: 80% of a GPU, 60% of system RAM on the CPU."""
    if choice.device.type == "cuda":
        return int(torch.cuda.get_device_properties(choice.device).total_memory * 0.8)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 16 << 30
    return int(ram * 0.6)


class ModelRegistry:
    """The engine's models, loaded on first use. Thread-safe; used from the engine thread."""

    def __init__(self, config: ModelsConfig, device: str = "auto", budget_bytes: int | None = None):
        keep_freed_memory()  # the models' multi-MB temporaries reuse memory instead of faulting it in
        self.config = config
        self.choice = choose_device(device)
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget(self.choice)
        self._lock = threading.RLock()
        self._resident: OrderedDict[Any, tuple[Any, int]] = OrderedDict()

    # -- generic cache -------------------------------------------------------------------------
    def get(self, key: Any, loader: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._resident:
                self._resident.move_to_end(key)
                return self._resident[key][0]
            obj = self._load(key, loader)
            size = model_bytes(obj)
            self._make_room(size)
            self._resident[key] = (obj, size)
            return obj

    def _load(self, key: Any, loader: Callable[[], Any]) -> Any:
        """`loader()`, with any failure but a lack of memory named as the role's ModelError (exit 3): a
        truncated file or a bad models.toml value must stop a run, not mark every image `error`."""
        try:
            return loader()
        except (EngineError, MemoryError, KeyboardInterrupt):
            raise
        except Exception as error:
            if type(error).__name__ == "OutOfMemoryError" or is_disk_full(error):
                raise
            role = key[0] if isinstance(key, tuple) else str(key)
            where = self.config.roles[role].path if role in self.config.roles else "?"
            if _unsafe_pickle(error):  # a library's torch.load(weights_only=True) refused it
                raise UnsafeCheckpoint(
                    f"Model '{role}': refused {where}: a weight file needs arbitrary code to load (unsafe "
                    "pickle). Use .safetensors weights."
                ) from error
            raise ModelError(
                f"Model '{role}' could not be loaded from {where}: {type(error).__name__}: "
                f"{one_line(str(error))[:300]} (check models.toml; `{cli_name()} models status`)"
            ) from error

    def recount(self, key: Any) -> None:
        """Measure a resident model again after it grew (CLIP's bf16 copy, made on first use), making
        room for the growth within the budget."""
        with self._lock:
            if key in self._resident:
                obj, _ = self._resident.pop(key)
                size = model_bytes(obj)
                self._make_room(size)
                self._resident[key] = (obj, size)

    def resident(self) -> dict[Any, int]:
        with self._lock:
            return {key: size for key, (_, size) in self._resident.items()}

    def release(self, key: Any = None) -> None:
        """Forget one model (or all, with no key) and give its memory back."""
        with self._lock:
            if key is None:
                self._resident.clear()
            else:
                self._resident.pop(key, None)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _make_room(self, incoming: int) -> None:
        used = sum(size for _, size in self._resident.values())
        evicted = False
        while self._resident and used + incoming > self.budget_bytes:
            _, (_, size) = self._resident.popitem(last=False)
            used -= size
            evicted = True
        if evicted:  # a full collection holds the GIL for ~0.3 s: only pay it when memory was freed
            gc.collect()

    # -- roles ---------------------------------------------------------------------------------
    def sam(self) -> Any:
        from engine.models.sam import load_sam

        return self.get("sam", lambda: load_sam(self.config.spec("sam"), self.choice.device))

    def clip(self) -> Any:
        from engine.models.clip import load_clip

        return self.get("clip", lambda: load_clip(self.config.spec("clip"), self.choice.device))

    def depth(self) -> Any:
        from engine.models.depth import load_depth

        return self.get("depth", lambda: load_depth(self.config.spec("depth"), self.choice))

    def captioner(self) -> Any:
        from engine.models.captioner import load_captioner

        return self.get("captioner", lambda: load_captioner(self.config.spec("captioner"), self.choice))

    def matting(self) -> Any:
        from engine.models.matting import load_matting

        return self.get("matting", lambda: load_matting(self.config.spec("matting"), self.choice))

    def detector(self) -> Any:
        from engine.models.detector import load_detector

        return self.get("detector", lambda: load_detector(self.config.spec("detector"), self.choice))

    def controlnet_depth(self) -> Any:
        from engine.models.diffusion import load_controlnet

        return self.get(
            "controlnet_depth", lambda: load_controlnet(self.config.spec("controlnet_depth"), self.choice)
        )

    def inpaint_pipeline(self, control: bool = True, memory: Any = None) -> Any:
        """SD 1.5 inpainting (+ depth ControlNet when `control`); `memory` is a `MemoryOptions`."""
        from engine.models.diffusion import MemoryOptions, load_inpaint_pipeline

        memory = memory or MemoryOptions()

        def load() -> Any:
            controlnet = self.controlnet_depth() if control else None
            return load_inpaint_pipeline(self.config.spec("inpaint"), self.choice, controlnet, memory)

        # Keyed without the default options so that `inpaint_pipeline(control)` callers share one copy.
        key = ("inpaint", control) if memory == MemoryOptions() else ("inpaint", control, memory)
        return self.get(key, load)

    def release_pipelines(self) -> None:
        """Drop every diffusion pipeline and ControlNet (before a retry with offload after an OOM)."""
        with self._lock:
            for key in [k for k in self._resident if k == "controlnet_depth" or _is_pipeline_key(k)]:
                self._resident.pop(key, None)
        self.release(object())  # collects garbage and empties the CUDA cache

    def txt2img_pipeline(self) -> Any:
        from engine.models.diffusion import load_txt2img_pipeline

        return self.get("txt2img", lambda: load_txt2img_pipeline(self.config.spec("txt2img"), self.choice))


def _unsafe_pickle(error: BaseException | None) -> bool:
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, pickle.UnpicklingError):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _is_pipeline_key(key: Any) -> bool:
    name = key[0] if isinstance(key, tuple) else key
    return name in ("inpaint", "txt2img")
