"""Missing-model messages name the command the user actually has: main.py from a clone, the app's own
executable in a frozen build."""

from __future__ import annotations

import sys

from engine.models.errors import MissingModel


def test_the_fix_names_main_py_from_a_clone_and_the_executable_when_frozen(monkeypatch):
    assert "run `python main.py models download sam`" in str(MissingModel("sam", "/x/sam.pth"))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr("os.name", "posix")
    assert "run `shootstudio models download sam`" in str(MissingModel("sam", "/x/sam.pth"))
    monkeypatch.setattr("os.name", "nt")
    assert "run `shootstudio-cli models download clip`" in str(MissingModel("clip", "C:/x/clip.pt"))
