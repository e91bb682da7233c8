"""The one error of image reading, shared by the readers of ordinary files and of camera RAW files."""

from __future__ import annotations

from engine.runtime.errors import InputError


class ImageReadError(InputError):
    """The file is not a readable image; the message says why in plain words."""

    exit_code = 2
