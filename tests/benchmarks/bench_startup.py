"""Cold start of the desktop app to the first painted main window, the heavy modules loaded by then, and
the close time, over N fresh processes (the first one labelled cold, the rest warm).

    python tests/benchmarks/bench_startup.py [--root REPO] [--runs 5] [--folder SHOOT] [--platform xcb]

Each run launches `sys.executable` on this file with `--child` (cwd and sys.path[0] = the repo root,
fresh XDG_* folders, HF_HUB_OFFLINE=1). The child builds the window as the app does, runs the Qt event loop
until the window (or its central widget) gets its first Paint event and that paint has finished, prints
"painted", then closes the window and shuts the engine down. Stamps are `perf_counter` (CLOCK_MONOTONIC,
shared by both processes on Linux); "to painted" is the parent's time to reading the child's line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("torch", "diffusers", "transformers", "peft", "segment_anything", "open_clip")
FIGURES = {  # label: (from stamp, to stamp), in ms
    "launch → painted line (parent)": ("launch", "received"),
    "  interpreter start": ("launch", "started"),
    "  imports (gui.app, window)": ("started", "imported"),
    "  window constructed": ("imported", "constructed"),
    "  show → first paint done": ("constructed", "painted"),
    "close + shutdown_engine": ("closing", "closed"),
    "closed → process exited": ("closed", "exited"),
}


def build_main_window():
    """The app's main window, built the way the app builds it. Import time counts as construction here
    when the app imports lazily."""
    import gui.app

    if hasattr(gui.app, "build_main_window"):
        return gui.app.build_main_window()
    from gui.main_window import MainWindow

    return MainWindow()


def child(root: str, folder: str | None) -> None:
    stamps = {"started": time.perf_counter()}
    from PySide6.QtCore import QEvent, QObject, QTimer

    sys.path.insert(0, root)
    import gui.app

    if not hasattr(gui.app, "build_main_window"):
        import gui.main_window  # the app's import set, timed as imports
    stamps["imported"] = time.perf_counter()
    app = gui.app.create_application()
    window = build_main_window()
    stamps["constructed"] = time.perf_counter()

    class FirstPaint(QObject):
        seen = False

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and obj in (window, window.centralWidget()):
                self.seen = True
                app.removeEventFilter(self)
                QTimer.singleShot(0, app.quit)  # runs once this paint (and its flush) is over
            return False

    paint_filter = FirstPaint()
    app.installEventFilter(paint_filter)
    QTimer.singleShot(60_000, app.quit)  # never wait forever
    window.show()
    if folder:
        window.open_folder(Path(folder))
    app.exec()
    stamps["painted"] = time.perf_counter()
    if not paint_filter.seen:
        sys.exit("no paint of the main window within 60 s")
    heavy = sorted(name for name in HEAVY if name in sys.modules)
    print("painted", flush=True)

    stamps["closing"] = time.perf_counter()
    window.close()
    app.processEvents()
    if hasattr(window, "shutdown_engine"):
        window.shutdown_engine()
    stamps["closed"] = time.perf_counter()
    print(json.dumps({"stamps": stamps, "heavy": heavy, "modules": len(sys.modules)}), flush=True)


def run_once(root: Path, platform: str, folder: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp, tempfile.TemporaryFile() as err:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOOTSTUDIO_")}
        env.update(QT_QPA_PLATFORM=platform, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        env.update({f"XDG_{kind}_HOME": str(Path(tmp, kind.lower())) for kind in ("CONFIG", "DATA", "CACHE")})
        command = [sys.executable, str(Path(__file__).resolve()), "--child", "--root", str(root)]
        command += ["--folder", str(folder)] if folder else []
        launch = time.perf_counter()
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        line = proc.stdout.readline()
        received = time.perf_counter()
        rest = proc.stdout.read()
        proc.wait()
        exited = time.perf_counter()
        if line.strip() != "painted" or proc.returncode:
            err.seek(0)
            sys.exit(f"child failed (rc {proc.returncode}):\n{line}{rest}\n{err.read().decode()[-3000:]}")
    result = json.loads(rest.strip().splitlines()[-1])
    result["stamps"].update(launch=launch, received=received, exited=exited)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--folder", type=Path, help="a shoot folder to open right after show")
    parser.add_argument("--platform", choices=("offscreen", "xcb"), default="offscreen")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(str(args.root), str(args.folder) if args.folder else None)
    if args.platform == "xcb" and not os.environ.get("DISPLAY"):
        sys.exit("--platform xcb needs DISPLAY")
    root, folder = args.root.resolve(), args.folder.resolve() if args.folder else None
    results = [run_once(root, args.platform, folder) for _ in range(args.runs)]

    def ms(result: dict, span: tuple[str, str]) -> float:
        return (result["stamps"][span[1]] - result["stamps"][span[0]]) * 1000

    print(f"\n{root}  ({args.platform}, {args.runs} runs{f', folder {folder}' if folder else ''})")
    print(f"{'ms':34}{'cold (1st)':>12}{'warm median':>13}{'min':>9}{'max':>9}")
    for label, span in FIGURES.items():
        first, warm = ms(results[0], span), [ms(r, span) for r in results[1:]]
        cells = f"{statistics.median(warm):13.0f}{min(warm):9.0f}{max(warm):9.0f}" if warm else ""
        print(f"{label:34}{first:12.0f}{cells}")
    for index, result in enumerate(results):
        loaded = ", ".join(result["heavy"]) or "none"
        print(f"run {index + 1}: heavy modules at first paint: {loaded}  ({result['modules']} modules)")


if __name__ == "__main__":
    main()
