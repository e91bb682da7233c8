"""Shared fixtures: offscreen Qt, quiet libraries, and one set of tiny models per test session."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"  # no test may reach the network
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

from pathlib import Path  # noqa: E402

# The review desk's `window` fixture (and its helpers) for every GUI test module; the leak check for all.
pytest_plugins = ["tests.fixtures.gui", "tests.fixtures.leaks", "pytester"]

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    """`models make-tiny` once per session; returns the path of its models.toml."""
    from engine.models.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def tiny_registry(tiny_models):
    """A CPU model registry over the tiny models (models stay loaded for the session)."""
    from engine.models.config import ModelsConfig
    from engine.models.registry import ModelRegistry

    return ModelRegistry(ModelsConfig.load(tiny_models), "cpu")


@pytest.fixture
def tiny_engine(tiny_registry):
    """The engine over the session's tiny models, with its own thread (shut down after the test)."""
    from engine.api import Engine

    engine = Engine(registry=tiny_registry)
    yield engine
    assert engine.shutdown(30), "the engine thread did not stop"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Never read or write the real user's config, models or caches."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("SHOOTSTUDIO_MODELS", raising=False)
    monkeypatch.delenv("SHOOTSTUDIO_MODELS_DIR", raising=False)
