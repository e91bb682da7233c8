"""The first-run bootstrap: it creates the app's venv only when started from a plain system Python."""

from __future__ import annotations

import sys

from engine.runtime import bootstrap


def test_inside_another_virtual_environment_nothing_is_installed(monkeypatch, tmp_path):
    monkeypatch.setenv("SHOOTSTUDIO_VENV", str(tmp_path / "app-venv"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "users-own-venv"))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    calls = []
    monkeypatch.setattr(bootstrap, "_install", lambda *a: calls.append(a))
    monkeypatch.setattr(bootstrap.os, "execv", lambda *a: calls.append(a))
    bootstrap.ensure_environment(("test",), ["-m", "tests"])
    assert calls == []
    assert not (tmp_path / "app-venv").exists()


def test_from_a_system_python_it_installs_once_then_reexecutes(monkeypatch, tmp_path):
    root = tmp_path / "app-venv"
    monkeypatch.setenv("SHOOTSTUDIO_VENV", str(root))
    monkeypatch.setattr(sys, "prefix", "/usr")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    installs, execs = [], []

    def fake_install(venv_root, extras, stamp_file):
        installs.append(extras)
        venv_root.mkdir(parents=True, exist_ok=True)
        stamp_file.write_text(bootstrap._wanted_stamp(extras) + "\n")

    monkeypatch.setattr(bootstrap, "_install", fake_install)
    monkeypatch.setattr(bootstrap.os, "execv", lambda python, args: execs.append(args[1:]))
    bootstrap.ensure_environment((), ["main.py"])
    bootstrap.ensure_environment((), ["main.py"])  # stamp matches: no second install
    bootstrap.ensure_environment(("test",), ["-m", "tests"])  # the test extras are added once
    assert installs == [(), ("test",)]
    assert execs == [["main.py"], ["main.py"], ["-m", "tests"]]
