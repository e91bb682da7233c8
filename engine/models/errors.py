"""Errors that name the model role, the path tried, and how to fix it."""

from __future__ import annotations

from engine.runtime.errors import ModelError

__all__ = ["MissingModel", "ModelError", "UnsafeCheckpoint"]


class MissingModel(ModelError):
    def __init__(self, role: str, tried: str, hint: str = ""):
        self.role = role
        self.tried = tried
        fix = hint or (
            f"run `python main.py models download {role}`, or set [{role}] path in models.toml "
            "(see README: Models)"
        )
        super().__init__(f"Model '{role}' not found at {tried}: {fix}.")


class UnsafeCheckpoint(ModelError):
    """The checkpoint needs arbitrary unpickling (it could run code), so it is refused."""
