"""The LoRA training set: images + captions from a folder, aspect-ratio buckets, and the batch order.

Kohya's conventions: the caption of `photo.jpg` is `photo.txt` beside it; an image without one trains on
the activation tag alone. Each image goes to the bucket (a size of about resolution² pixels) whose aspect
ratio is closest to its own, so tall and wide product shots are not squashed or cropped to a square.
Batches hold images of one bucket only (one tensor shape per step).
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

from engine.imaging.read import ImageReadError, is_image_file, list_images, open_image, read_image
from engine.runtime.jobs import EngineError
from engine.training.captions import read_caption, tagged

if TYPE_CHECKING:
    import torch

# Buckets span aspect ratios from 1:2 to 2:1 (kohya's defaults: sides from resolution/2 to resolution·2).
MIN_BUCKET_FACTOR, MAX_BUCKET_FACTOR = 0.5, 2.0
# Bucket sides are multiples of what the model downsamples by: SD 1.5's VAE (×8) and its UNet's three
# downsamplings (×8). The trainer derives it from the loaded model; previews before loading use this.
SD15_BUCKET_STEP = 64


class TrainingInputError(EngineError):
    """The training folder cannot be used as it is (exit code 2); the message says what to fix."""

    exit_code = 2


@dataclass(frozen=True)
class TrainingImage:
    path: Path
    caption: str
    size: tuple[int, int]  # (width, height) upright, as read
    bucket: tuple[int, int]  # (width, height) it is trained at


@dataclass
class TrainingSet:
    images: list[TrainingImage]
    warnings: list[str]  # skipped images and orphaned captions, one line each

    @property
    def buckets(self) -> dict[tuple[int, int], list[int]]:
        groups: dict[tuple[int, int], list[int]] = {}
        for index, image in enumerate(self.images):
            groups.setdefault(image.bucket, []).append(index)
        return dict(sorted(groups.items()))

    def fingerprint(self) -> str:
        """Identifies the images and captions, so a resumed run can tell it trains on the same set."""
        digest = hashlib.sha256()
        for image in self.images:
            digest.update(f"{image.path.name}\0{image.caption}\0{image.bucket}\n".encode())
        return digest.hexdigest()[:16]

    def tag_frequency(self) -> dict[str, int]:
        """How often each comma-separated tag occurs (kohya's `ss_tag_frequency`, shown by web UIs)."""
        counts: dict[str, int] = {}
        for image in self.images:
            for tag in filter(None, (t.strip() for t in image.caption.split(","))):
                counts[tag] = counts.get(tag, 0) + 1
        return counts


def make_buckets(resolution: int, step: int) -> list[tuple[int, int]]:
    """(width, height) sizes, multiples of `step`, each at most resolution² pixels."""
    if resolution < step:
        raise TrainingInputError(f"Resolution {resolution} px is below the model's size step of {step} px.")
    low = max(step, int(resolution * MIN_BUCKET_FACTOR) // step * step)
    high = int(resolution * MAX_BUCKET_FACTOR) // step * step
    area = resolution * resolution
    sizes = {(resolution // step * step,) * 2}
    for width in range(low, high + 1, step):
        height = min(high, area // width // step * step)
        if height >= low:
            sizes.add((width, height))
            sizes.add((height, width))
    return sorted(sizes)


def nearest_bucket(size: tuple[int, int], buckets: list[tuple[int, int]]) -> tuple[int, int]:
    """The bucket whose aspect ratio is closest (in log space, so 1:2 and 2:1 are equally far from 1:1)."""
    ratio = math.log(size[0] / size[1])
    return min(buckets, key=lambda b: (abs(math.log(b[0] / b[1]) - ratio), -b[0] * b[1]))


def scan_folder(
    folder: Path, tag: str, resolution: int, step: int, min_side: int | None = None
) -> TrainingSet:
    """Find the images and their captions. Unusable images are skipped with a warning; no usable image
    at all is an error that says why."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingInputError(f"Not a folder: {folder}")
    min_side = min_side if min_side is not None else max(32, resolution // 4)
    paths = list_images(folder)
    stems = {p.stem for p in paths}
    orphans = sorted(
        p.name for p in folder.glob("*.txt") if p.stem not in stems and not p.name.startswith(".")
    )
    warnings = [f"{name}: caption without an image (ignored)" for name in orphans]
    if not paths:
        others = [p.name for p in folder.iterdir() if p.is_file() and not is_image_file(p)]
        detail = f" It holds {len(orphans)} caption file(s) without images." if orphans else ""
        if others and not orphans:
            detail = f" It holds {len(others)} other file(s), e.g. {others[0]}."
        raise TrainingInputError(f"No images to train on in {folder}.{detail}")
    buckets = make_buckets(resolution, step)
    images = []
    for path in paths:
        try:
            with open_image(path) as opened:
                size = opened.size
                if opened.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF: rotated by 90°
                    size = size[::-1]
            stat = path.stat()
            problem = _decode_problem(str(path), stat.st_mtime_ns, stat.st_size)
        except ImageReadError as error:
            warnings.append(f"{error} (skipped)")
            continue
        if problem is not None:  # a truncated or corrupt file whose header reads fine
            warnings.append(f"{path.name}: cannot be read ({problem}) (skipped)")
            continue
        if min(size) < min_side:
            warnings.append(
                f"{path.name}: {size[0]}×{size[1]} is too small to train at {resolution} px "
                f"(at least {min_side} px on the short side; skipped)"
            )
            continue
        caption = tagged(read_caption(path) or "", tag) or tag
        images.append(TrainingImage(path, caption, size, nearest_bucket(size, buckets)))
    if not images:
        raise TrainingInputError(
            f"None of the {len(paths)} image(s) in {folder} can be used: " + "; ".join(warnings[-3:])
        )
    return TrainingSet(images, warnings)


@functools.lru_cache(maxsize=4096)
def _decode_problem(path: str, mtime_ns: int, size: int) -> str | None:
    """Why the file's pixels cannot be decoded, or None. Every byte is decoded, so a truncated file is
    skipped at scan time (and counted so in the dialog's summary) rather than failing the run; JPEGs
    decode at 1/8 scale (draft mode), which still reads all their data. Remembered per file version, so
    the dialog's re-checks (another resolution, another tag) cost only a stat."""
    try:
        with open_image(path) as opened:
            if opened.format == "JPEG":
                opened.draft("RGB", (max(1, opened.width // 8), max(1, opened.height // 8)))
            opened.load()
    except (ImageReadError, OSError) as error:
        return str(error)
    return None


def load_pixels(image: TrainingImage) -> torch.Tensor:
    """CHW float in [-1, 1] at the image's bucket size: scaled to cover it, then centre-cropped."""
    import torch

    try:
        rgb = read_image(image.path).pil()
    except ImageReadError as error:
        raise TrainingInputError(f"{error} (it changed while training was being prepared)") from error
    fitted = ImageOps.fit(rgb, image.bucket, Image.Resampling.LANCZOS)
    array = np.asarray(fitted, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def epoch_batches(training_set: TrainingSet, repeats: int, batch_size: int, seed: int, epoch: int):
    """The batches of one epoch (lists of image indices), the same for the same seed and epoch, so that
    a resumed run sees exactly the order an uninterrupted one would."""
    rng = random.Random(f"{seed}:{epoch}")
    batches = []
    for indices in training_set.buckets.values():
        pool = indices * repeats
        rng.shuffle(pool)
        batches += [pool[i : i + batch_size] for i in range(0, len(pool), batch_size)]
    rng.shuffle(batches)
    return batches


def steps_per_epoch(training_set: TrainingSet, repeats: int, batch_size: int) -> int:
    return sum(math.ceil(len(i) * repeats / batch_size) for i in training_set.buckets.values())
