"""Per-user desk settings (window geometry, dock layout, browser mode, panel values, recent folders).

One INI file in the user's config folder, found through platformdirs at each call rather than Qt's
cached default path, so tests that point XDG_CONFIG_HOME at a temporary folder never touch the real file.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings

APP_NAME = "ShootStudio"


def settings_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "desk.ini"


def user_settings() -> QSettings:
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)
