"""Errors that name the model role, the path tried, and how to fix it."""

from __future__ import annotations

import os
import sys

from engine.runtime.errors import ModelError

__all__ = ["MissingModel", "ModelError", "UnsafeCheckpoint", "cli_name"]


def cli_name() -> str:
    """How the user runs the command line: the installed app's own executable, or main.py from a clone."""
    if getattr(sys, "frozen", False):
        return "shootstudio-cli" if os.name == "nt" else "shootstudio"
    return "python main.py"


class MissingModel(ModelError):
    def __init__(self, role: str, tried: str, hint: str = ""):
        self.role = role
        self.tried = tried
        fix = hint or (
            f"run `{cli_name()} models download {role}`, or set [{role}] path in models.toml "
            "(see README: Models)"
        )
        super().__init__(f"Model '{role}' not found at {tried}: {fix}.")


class UnsafeCheckpoint(ModelError):
    """The checkpoint needs arbitrary unpickling (it could run code), so it is refused."""
