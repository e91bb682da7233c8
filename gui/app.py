"""Start the desktop app: a QApplication driven by a qasync event loop, and the main window."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
GOMP_SPINCOUNT = "20000"  # OpenMP busy-wait rounds before a worker thread sleeps (libgomp; see `main`)


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("ShootStudio")
    app.setOrganizationName("ShootStudio")
    app.setDesktopFileName("shootstudio")
    app.setWindowIcon(QIcon(str(RESOURCES / "shootstudio.svg")))
    from gui.settings import user_settings
    from gui.theme import apply_theme

    apply_theme(app, str(user_settings().value("look/theme", "dark")))
    return app


def main(argv: list[str] | None = None) -> int:
    """`argv`: optionally one folder to open."""
    # Model libraries' per-file loading bars would scroll the terminal the app was started from; the
    # status bar says what is loading. (Set before the engine imports them.)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # torch's OpenMP threads spin ~300k rounds after each op by default; in this process they then take the
    # cores from the canvas's own (OpenCV) repaint right after a SAM click: 7.8 ms against 3.6 ms at
    # 1024x768 on 2 cores. A short spin costs the encoder nothing measurable (5.62 s against 5.61 s).
    os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)
    import qasync

    from gui.main_window import MainWindow

    argv = list(argv or [])
    app = create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    window.show()
    from gui.widgets.welcome_dialog import show_welcome_if_needed

    show_welcome_if_needed(window)  # first run: no weights found yet
    if argv:
        window.open_folder(Path(argv[0]))
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    window.shutdown_engine()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
