"""Training captions: a BLIP caption per image, written as `IMAGE.txt` beside it (the kohya convention),
with the LoRA's activation tag first. Existing captions are kept unless asked to overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.imaging.read import ImageReadError, list_images, read_image
from engine.runtime.atomic import atomic_write_bytes
from engine.runtime.jobs import EngineError, JobContext

BATCH_SIZE = 8  # BLIP base: ~1 GB of activations at 8 × 384² on a GPU
MAX_NEW_TOKENS = 40


class CaptionError(EngineError):
    exit_code = 2


@dataclass(frozen=True)
class Caption:
    """One caption written (an event of the caption job)."""

    image: Path
    text: str


@dataclass
class CaptionReport:
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # captions that existed and were not overwritten
    problems: list[str] = field(default_factory=list)  # one line per image that could not be captioned

    def summary(self) -> str:
        text = f"{len(self.written)} caption(s) written, {len(self.kept)} kept"
        return text + (f", {len(self.problems)} image(s) skipped" if self.problems else "")


def caption_path(image: Path) -> Path:
    """`photo.jpg` → `photo.txt`: the caption file kohya's trainer and ours read."""
    return image.with_suffix(".txt")


def tagged(caption: str, tag: str | None) -> str:
    """`tag, caption`; the tag alone when the caption is empty; no tag twice."""
    caption = " ".join(caption.split()).strip(" ,")
    if not tag:
        return caption
    if caption == tag or caption.startswith(f"{tag},") or caption.startswith(f"{tag} "):
        return caption
    return f"{tag}, {caption}" if caption else tag


def read_caption(image: Path) -> str | None:
    """The caption beside `image`, or None when there is none (or it cannot be read)."""
    path = caption_path(image)
    try:
        return " ".join(path.read_text(encoding="utf-8").split())
    except (FileNotFoundError, UnicodeDecodeError, IsADirectoryError):
        return None


def blip_captions(bundle: Any, images: list[Any]) -> list[str]:
    """Unconditional BLIP captions for PIL images (the registry's `CaptionerBundle`)."""
    import torch

    model, processor = bundle.model, bundle.processor
    inputs = processor(images=images, return_tensors="pt")
    pixels = inputs["pixel_values"].to(model.device, model.dtype)
    with torch.inference_mode():
        ids = model.generate(pixel_values=pixels, max_new_tokens=MAX_NEW_TOKENS)
    return [text.strip() for text in processor.batch_decode(ids, skip_special_tokens=True)]


def caption_folder(
    folder: Path,
    registry: Any,
    ctx: JobContext,
    *,
    tag: str | None = None,
    overwrite: bool = False,
) -> CaptionReport:
    """Caption every image of `folder` (not recursive), emitting a `Caption` per image written.
    Originals are only read."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CaptionError(f"Not a folder: {folder}")
    images = list_images(folder)
    if not images:
        raise CaptionError(f"No images in {folder} (looked for .jpg, .png, .tif, .webp ...).")
    report = CaptionReport()
    todo = []
    for image in images:
        if caption_path(image).exists() and not overwrite:
            report.kept.append(caption_path(image))
        else:
            todo.append(image)
    ctx.progress(0, len(todo), "loading BLIP")
    if not todo:
        return report
    bundle = registry.captioner()
    for start in range(0, len(todo), BATCH_SIZE):
        ctx.check_cancelled()
        batch, pictures = [], []
        for path in todo[start : start + BATCH_SIZE]:
            try:
                pictures.append(read_image(path).pil())
                batch.append(path)
            except ImageReadError as error:
                report.problems.append(str(error))
        for path, caption in zip(batch, blip_captions(bundle, pictures) if batch else [], strict=True):
            text = tagged(caption, tag)
            if not text:
                report.problems.append(f"{path.name}: BLIP gave an empty caption and no --tag was set")
                continue
            target = caption_path(path)
            atomic_write_bytes(target, text.encode("utf-8"))
            report.written.append(target)
            ctx.emit(Caption(path, text))
        done = min(start + BATCH_SIZE, len(todo))
        ctx.progress(done, len(todo), f"{done}/{len(todo)} captioned")
    return report
