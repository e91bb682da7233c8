"""What every subcommand shares: --models/--device, exit codes, the engine, running a job with a progress
bar (Ctrl+C cancels it cleanly)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from engine.api import Cancelled, Engine, Failed, Job, Progress, Succeeded, load_models
from engine.runtime.errors import (  # the one vocabulary; exit codes as the README documents them
    EXIT_FAILED,
    EXIT_MISSING_MODELS,
    EXIT_OK,
    EXIT_USAGE,
    InputError,
    UsageError,
    exit_code_of,
    printable_path,
    user_message,
)

__all__ = [
    "EXIT_FAILED", "EXIT_MISSING_MODELS", "EXIT_OK", "EXIT_USAGE", "InputError", "UsageError",
    "add_common_arguments", "check_destination", "json_bytes", "open_engine", "report_error", "run_job",
]  # fmt: skip


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        type=Path,
        metavar="FILE",
        help="models.toml mapping roles to weights (default: $SHOOTSTUDIO_MODELS or the user's config)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda", "mps"),
        default="auto",
        help="compute device (default: auto)",
    )


IMAGE_NAMES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")  # an --out that names the output file


def check_destination(path: Path, option: str, *, folder_ok: bool = False) -> None:
    """Refuse, before any work, a destination that cannot be written: an existing folder where a file is
    meant (unless `folder_ok`), a path under a file, a folder that refuses writing."""
    path = Path(path)
    if path.is_dir() and not folder_ok:
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    if path.exists() and not path.is_dir() and folder_ok and path.suffix.lower() not in IMAGE_NAMES:
        raise UsageError(f"{option} {path}: is a file; give a folder (or an image file name)")
    ancestor = path if path.is_dir() else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent  # missing folders are created on writing
    if not ancestor.is_dir():
        raise UsageError(f"{option} {path}: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: the folder {ancestor} cannot be written")


def json_bytes(data: Any) -> bytes:
    """`data` as UTF-8 JSON for a report. A file name that is not valid UTF-8 is written escaped
    (caf\\xe9.jpg), so one odd name never costs the whole report."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return printable_path(value)
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(data), indent=2, ensure_ascii=False).encode("utf-8")


def open_engine(args: argparse.Namespace) -> Engine:
    """The engine for --models/--device (models load lazily, on first use); `run_job` shuts it down."""
    return Engine(load_models(args.models), args.device, name="shootstudio-cli")


def error_exit_code(error: BaseException) -> int:
    return exit_code_of(error)


def report_error(error: BaseException | Failed) -> int:
    """Print one line `error: ...` on stderr; return the exit code the error means."""
    message = error.message if isinstance(error, Failed) else user_message(error)
    print(f"error: {message}", file=sys.stderr)
    return error.exit_code if isinstance(error, Failed) else error_exit_code(error)


def run_job(engine: Engine, job: Job, *, quiet: bool = False) -> tuple[int, Any]:
    """Run `job` on the engine's thread with a progress bar; Ctrl+C cancels it cleanly. The engine is
    shut down afterwards (one job per command).

    Returns (exit code, value or None)."""
    from tqdm import tqdm

    bar = None if quiet else tqdm(total=None, desc=job.name, unit="step", file=sys.stderr, leave=True)

    def on_progress(progress: Progress) -> None:
        if bar is None:
            return
        if progress.total is not None and bar.total != progress.total:
            bar.total = progress.total
        bar.n = progress.done
        if progress.message:
            bar.set_postfix_str(progress.message[:60], refresh=False)
        bar.refresh()

    job.add_progress_callback(on_progress)
    engine.submit(job)
    try:
        while True:
            try:
                outcome = job.wait(timeout=0.2)
                break
            except TimeoutError:
                continue
    except KeyboardInterrupt:
        print("\nCancelling (finishing the current step)...", file=sys.stderr)
        job.cancel("interrupted")
        outcome = job.wait()
    finally:
        if bar is not None:
            bar.close()
        engine.shutdown()
    if isinstance(outcome, Succeeded):
        return EXIT_OK, outcome.value
    if isinstance(outcome, Cancelled):
        print(f"cancelled: {outcome.reason}", file=sys.stderr)
        return EXIT_FAILED, None
    return report_error(outcome), None
