"""Icons: a few small bundled SVGs for the mask tools (resources/icons/) and Qt's standard icons for the
common actions, so every tool button and run/cancel/accept button shows a recognisable symbol."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
STANDARD = {
    "open": QStyle.StandardPixmap.SP_DirOpenIcon,
    "run": QStyle.StandardPixmap.SP_MediaPlay,
    "cancel": QStyle.StandardPixmap.SP_BrowserStop,
    "accept": QStyle.StandardPixmap.SP_DialogApplyButton,
    "back": QStyle.StandardPixmap.SP_ArrowBack,
    "help": QStyle.StandardPixmap.SP_DialogHelpButton,
}


def icon(name: str) -> QIcon:
    """A bundled tool icon (brush, eraser, sam) or a standard one (open, run, cancel, accept, ...)."""
    path = ICONS / f"{name}.svg"
    if path.is_file():
        return QIcon(str(path))
    return QApplication.style().standardIcon(STANDARD[name])
